// The tray's one home for what every child it starts (`status --watch`, `discover --watch`,
// `join`, `systemctl`) needs: to die with the tray, and its last line of output read as one line
// for the person. Header-only; Qt's thread rules apply to the QProcess given.
#pragma once

#include <csignal>
#include <sys/prctl.h>

#include <QByteArray>
#include <QProcess>
#include <QString>

namespace specswarm::tray {

// Should the tray die without stopping `process` (SIGKILL, a crash), the kernel sends it SIGTERM.
inline void DieWithTray(QProcess& process) {
  process.setChildProcessModifier([] { prctl(PR_SET_PDEATHSIG, SIGTERM); });
}

// The last non-empty line of `bytes`, without the CLI's "specswarm: " prefix.
inline QString LastLine(const QByteArray& bytes) {
  QList<QByteArray> lines = bytes.trimmed().split('\n');
  QString line = lines.isEmpty() ? QString() : QString::fromUtf8(lines.last()).trimmed();
  return line.startsWith("specswarm: ") ? line.mid(11) : line;
}

}  // namespace specswarm::tray
