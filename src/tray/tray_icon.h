// DrawTrayIcon: the tray's icon, painted at run time from a SwarmView: a rounded square, green
// while this machine shares its cores and grey while it does not, with the swarm's idle cores
// written on it in white; with no swarm reachable, a grey square crossed by a red bar. Pure
// painting (QtGui only, no widgets, no display): the offscreen tests read its pixels.
#pragma once

#include <QColor>
#include <QIcon>
#include <QImage>

#include "tray/swarm_view.h"

namespace specswarm::tray {

// The colours the tests look for.
inline const QColor kSharingGreen{0x2e, 0x9e, 0x44};
inline const QColor kIdleGrey{0x80, 0x80, 0x80};
inline const QColor kNoSwarmRed{0xd0, 0x31, 0x2d};

QImage DrawTrayIcon(const SwarmView& view, int size);
// The sizes trays ask for (16 to 64 px), each drawn for its size rather than scaled.
QIcon TrayIcon(const SwarmView& view);

}  // namespace specswarm::tray
