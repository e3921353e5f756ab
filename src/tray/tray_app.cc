#include "tray/tray_app.h"

#include <cstdio>
#include <unistd.h>

#include <QCoreApplication>
#include <QCursor>
#include <QDBusConnection>
#include <QDBusConnectionInterface>
#include <QDBusInterface>
#include <QDBusServiceWatcher>
#include <QGuiApplication>
#include <QScreen>
#include <QTimer>

#include "tray/tray_icon.h"

namespace specswarm::tray {

namespace {
constexpr const char* kShareText = "Share this machine's idle cores";
constexpr const char* kWatcher = "org.kde.StatusNotifierWatcher";
constexpr int kPendingMs = 5000;
constexpr int kHostWaitMs = 20000;

void Log(const QString& line) {
  std::fprintf(stderr, "specswarm tray: %s\n", line.toUtf8().constData());
  std::fflush(stderr);
}

// Menu text from the network (host names, errors) as is: '&' would mark a shortcut.
QString Literal(QString text) { return text.replace('&', "&&"); }
QString Shown(QString text) { return text.replace("&&", "&"); }

// What Qt's own check finds: a watcher on the session bus with a host registered.
bool StatusNotifierHostRegistered() {
  QDBusConnection bus = QDBusConnection::sessionBus();
  if (!bus.isConnected() || !bus.interface()->isServiceRegistered(kWatcher)) return false;
  QDBusInterface watcher(kWatcher, "/StatusNotifierWatcher", kWatcher, bus);
  return watcher.property("IsStatusNotifierHostRegistered").toBool();
}
}  // namespace

TrayApp::TrayApp(TrayOptions options, ShareControl* share, QObject* parent)
    : QObject(parent), options_(options), share_(share) {
  BuildMenu();
  icon_.setContextMenu(&menu_);
  icon_.setIcon(TrayIcon(view_));
  icon_.setToolTip(QString::fromStdString(view_.Tooltip()));
  // A left click (XEmbed) or an SNI Activate shows the same menu as a right click.
  connect(&icon_, &QSystemTrayIcon::activated, this, [this](QSystemTrayIcon::ActivationReason reason) {
    if (reason == QSystemTrayIcon::Trigger) menu_.popup(QCursor::pos());
  });
  if (share_) {
    connect(share_, &ShareControl::Problem, this, [this](const QString& line) {
      share_problem_ = line;
      if (options_.verbose) Log("share: " + line);
      if (have_view_) SetView(view_);
    });
    connect(share_, &ShareControl::Done, this, &TrayApp::ShareToggled);
  }
  if (options_.watch_sni) WatchForStatusNotifierHost();
}

void TrayApp::BuildMenu() {
  summary_ = menu_.addAction("");
  summary_->setEnabled(false);
  menu_.addSeparator();
  machines_end_ = menu_.addSeparator();
  runs_end_ = menu_.addSeparator();
  runs_end_->setVisible(false);
  problem_ = menu_.addAction("");
  problem_->setEnabled(false);
  problem_->setVisible(false);
  share_action_ = menu_.addAction(kShareText);
  share_action_->setCheckable(true);
  connect(share_action_, &QAction::triggered, this, &TrayApp::OnShareTriggered);
  menu_.addSeparator();
  QAction* quit = menu_.addAction("Quit");
  connect(quit, &QAction::triggered, this, [this] {
    // The icon goes at once; the loop ends when the tray's own join has (no UI thread waits).
    icon_.hide();
    if (!share_ || !share_->owns_join()) return QCoreApplication::quit();
    connect(share_, &ShareControl::OwnJoinEnded, qApp, &QCoreApplication::quit);
    share_->StopOwnJoinAsync();
  });
  connect(&menu_, &QMenu::aboutToShow, this, [this] {
    if (options_.verbose) QTimer::singleShot(100, this, &TrayApp::LogMenuGeometry);
  });
}

void TrayApp::Show() {
  // Qt's D-Bus tray belongs to the desktop platforms' theme (xcb, wayland), never to offscreen.
  on_sni_ = QGuiApplication::platformName() != "offscreen" && StatusNotifierHostRegistered();
  icon_.show();
  if (options_.verbose)
    Log(QString("protocol: ") + (on_sni_ ? "StatusNotifierItem" : "XEmbed") +
        (QSystemTrayIcon::isSystemTrayAvailable() ? "" : " (no tray yet: the icon appears when one starts)"));
}

void TrayApp::SetRows(std::vector<QAction*>& rows, QAction* before, const std::vector<std::string>& lines) {
  while (rows.size() > lines.size()) {
    menu_.removeAction(rows.back());
    delete rows.back();
    rows.pop_back();
  }
  while (rows.size() < lines.size()) {
    auto* row = new QAction(&menu_);
    row->setEnabled(false);  // information, not a command
    menu_.insertAction(before, row);
    rows.push_back(row);
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    QString text = QString::fromStdString(lines[i]);
    if (rows[i]->text() != Literal(text)) rows[i]->setText(Literal(text));
  }
}

void TrayApp::SetView(const SwarmView& view) {
  const bool changed = !have_view_ || !(view == view_);
  if (view.sharing && !view_.sharing) share_problem_.clear();  // sharing works now
  view_ = view;
  have_view_ = true;
  if (pending_share_ && view.sharing == *pending_share_) {
    pending_share_.reset();
  } else if (pending_share_ && pending_since_.elapsed() > kPendingMs) {
    // The toggle did not take: say why we think so, unless join already said it.
    if (share_problem_.isEmpty())
      share_problem_ = *pending_share_ ? "specswarm join did not start: journalctl --user -u specswarm-join says why"
                                       : "this machine's specswarm join still answers: it was not started by the tray "
                                         "or by systemd; stop it where it was started";
    pending_share_.reset();
  }

  const QString tooltip = QString::fromStdString(view.Tooltip());
  QString summary = tooltip.section('\n', 0, 0);
  summary.remove("specswarm: ");
  summary_->setText(Literal(summary));
  SetRows(machine_rows_, machines_end_, view.MachineLines());
  SetRows(run_rows_, runs_end_, view.RunLines());
  runs_end_->setVisible(!run_rows_.empty());
  QString problem = !share_problem_.isEmpty() ? share_problem_ : QString::fromStdString(view.problem);
  problem_->setText(Literal(problem));
  problem_->setVisible(!problem.isEmpty());
  share_action_->setChecked(pending_share_ ? *pending_share_ : view.sharing);
  // A join this tray did not start, with no systemd unit to ask, is not the tray's to stop.
  const bool foreign = share_ && view.sharing && !share_->through_systemd() && !share_->owns_join();
  share_action_->setEnabled(share_ != nullptr && !foreign);
  share_action_->setText(foreign ? QString(kShareText) + " (join started outside the tray)" : kShareText);
  if (!changed) return;
  icon_.setIcon(TrayIcon(view));
  icon_.setToolTip(tooltip);
  if (options_.verbose) Log("view: " + QString(tooltip).replace('\n', " | "));
}

void TrayApp::OnShareTriggered(bool checked) {
  if (!share_) return;
  share_problem_.clear();
  share_choice_ = checked;
  pending_share_ = checked;
  pending_since_.start();
  if (options_.verbose) Log(checked ? "share: starting join" : "share: stopping join");
  checked ? share_->Start() : share_->Stop();
}

QStringList TrayApp::MenuText() const {
  QStringList lines;
  for (QAction* a : menu_.actions()) {
    if (!a->isVisible()) continue;
    if (a->isSeparator()) {
      lines << "---";
      continue;
    }
    lines << (a->isCheckable() ? (a->isChecked() ? "[x] " : "[ ] ") : "") + Shown(a->text());
  }
  return lines;
}

// Where each row is on screen, so a test can click one with xdotool like a person would.
void TrayApp::LogMenuGeometry() {
  if (!menu_.isVisible()) return;
  for (QAction* a : menu_.actions()) {
    if (!a->isVisible() || a->isSeparator()) continue;
    // xdotool clicks in device pixels; Qt's scaling (QT_SCALE_FACTOR, Xft.dpi) makes these
    // logical ones. Qt keeps each screen's top-left corner where it is and scales from there.
    const QRect logical = menu_.actionGeometry(a).translated(menu_.pos());
    const qreal dpr = menu_.devicePixelRatioF();
    const QPoint origin = menu_.screen() ? menu_.screen()->geometry().topLeft() : QPoint();
    const QRect r(origin + (logical.topLeft() - origin) * dpr, logical.size() * dpr);
    Log(QString("menu row: %1,%2 %3x%4 %5").arg(r.x()).arg(r.y()).arg(r.width()).arg(r.height()).arg(Shown(a->text())));
  }
}

void TrayApp::WatchForStatusNotifierHost() {
  auto* watcher = new QDBusServiceWatcher(kWatcher, QDBusConnection::sessionBus(),
                                          QDBusServiceWatcher::WatchForRegistration, this);
  connect(watcher, &QDBusServiceWatcher::serviceRegistered, this, [this] {
    // Already an SNI item: Qt registers it with the new watcher itself.
    if (on_sni_) return;
    // Qt wants a host registered with the watcher, which may come a while after the watcher.
    auto* poll = new QTimer(this);
    auto waited = std::make_shared<QElapsedTimer>();
    waited->start();
    connect(poll, &QTimer::timeout, this, [this, poll, waited] {
      if (StatusNotifierHostRegistered()) return RunAgain();
      if (waited->elapsed() > kHostWaitMs) poll->deleteLater();  // a watcher without a host: stay
    });
    poll->start(250);
  });
}

void TrayApp::RunAgain() {
  if (options_.verbose) Log("a StatusNotifierItem host appeared: starting again to use it");
  if (before_restart_) before_restart_();
  const bool was_sharing_own = share_ && share_->owns_join();
  if (share_) share_->StopOwnJoin();
  QStringList args = QCoreApplication::arguments();
  // Share again after the restart as the person last chose, else as the tray was asked to.
  const qsizetype own_end = args.contains("--") ? args.indexOf("--") : args.size();
  const bool share_again = share_choice_ ? *share_choice_ : (args.mid(0, own_end).contains("--share") || was_sharing_own);
  for (qsizetype i = own_end - 1; i >= 1; --i)
    if (args[i] == "--share") args.removeAt(i);
  if (share_again) args.insert(1, "--share");
  std::vector<QByteArray> bytes;
  for (const QString& a : args) bytes.push_back(a.toLocal8Bit());
  std::vector<char*> argv;
  for (QByteArray& b : bytes) argv.push_back(b.data());
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());
  Log(QString("cannot start again (%1): the icon stays as it is").arg(strerror(errno)));
}

}  // namespace specswarm::tray
