#include "tray/tray_icon.h"

#include <QFont>
#include <QPainter>
#include <QPainterPath>

namespace specswarm::tray {

QImage DrawTrayIcon(const SwarmView& view, int size) {
  QImage image(size, size, QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::transparent);
  QPainter p(&image);
  p.setRenderHint(QPainter::Antialiasing);
  const qreal margin = size / 16.0;
  const QRectF square(margin, margin, size - 2 * margin, size - 2 * margin);
  QPainterPath path;
  path.addRoundedRect(square, size / 5.0, size / 5.0);
  p.fillPath(path, view.state == IconState::kSharing ? kSharingGreen : kIdleGrey);

  if (view.state == IconState::kNoSwarm) {
    // No number to show: a bar from corner to corner says "no swarm" at any size.
    QPen bar(kNoSwarmRed, size / 6.0, Qt::SolidLine, Qt::RoundCap);
    p.setPen(bar);
    p.drawLine(QPointF(square.left() + size / 6.0, square.bottom() - size / 6.0),
               QPointF(square.right() - size / 6.0, square.top() + size / 6.0));
    return image;
  }
  const QString badge = QString::fromStdString(view.Badge());
  QFont font;
  font.setBold(true);
  // As large as fits: two digits fill the square's width, more digits shrink.
  const qreal scale = badge.size() <= 1 ? 0.72 : badge.size() == 2 ? 0.62 : badge.size() == 3 ? 0.46 : 0.34;
  font.setPixelSize(std::max(6, static_cast<int>(size * scale)));
  p.setFont(font);
  p.setPen(Qt::white);
  p.drawText(square, Qt::AlignCenter, badge);
  return image;
}

QIcon TrayIcon(const SwarmView& view) {
  QIcon icon;
  for (int size : {16, 22, 24, 32, 48, 64}) icon.addPixmap(QPixmap::fromImage(DrawTrayIcon(view, size)));
  return icon;
}

}  // namespace specswarm::tray
