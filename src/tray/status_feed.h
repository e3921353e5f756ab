// StatusFeed: keeps a SwarmView of this machine's swarm fresh without ever blocking the UI. It
// reads `specswarm status --json --watch INTERVAL` (docs/STATUS.md), one child that asks this
// machine's `join` and its peers every INTERVAL over links it keeps open, and prints one
// document per line. While no `join` answers here (not sharing), it also reads `specswarm
// discover --json --watch` (one browse kept open) to count the peers' idle cores from their mDNS
// records. A change shows within
// INTERVAL plus one round (a node that does not answer costs a round its --timeout of 1 s).
// A watch that dies is started again, as is a status watch that falls silent; both die with
// the tray.
//
// Owned by the Qt thread that created it; not thread-safe (Qt objects are not).
#pragma once

#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTimer>

#include "tray/swarm_view.h"

namespace specswarm::tray {

class StatusFeed : public QObject {
  Q_OBJECT
 public:
  // `specswarm` is the CLI to ask; `port` the local node's (`join --port`).
  StatusFeed(QString specswarm, int port, int interval_ms, QObject* parent = nullptr);
  ~StatusFeed() override;  // stops its children: nothing outlives the tray

  void Start();
  // Asks again now (after a share toggle) instead of at the next round.
  void Refresh();
  // Stops both watches for good (before the tray runs itself again, and on destruction).
  void StopAll();

 Q_SIGNALS:
  void Updated(const specswarm::tray::SwarmView& view);

 private:
  void OnLine(const QByteArray& line);
  void OnWatchEnded(int exit_code, QProcess::ExitStatus status);
  void Discover();
  void OnDiscovered(const QByteArray& line);
  static void Stop(QProcess& process);

  QString specswarm_;
  int port_;
  int interval_ms_;
  QProcess watch_, discover_;
  QTimer silence_;        // no line for this long: the watch is stuck, start it again
  QTimer restart_;        // after the watch ended
  QTimer next_discover_;  // restarts a discover watch that died
  bool sharing_ = false;
  bool refreshing_ = false;  // the watch was killed to ask at once, not lost
  QString status_error_;  // the watch's last error line (no join here, no key)
};

}  // namespace specswarm::tray
