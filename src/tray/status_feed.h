// StatusFeed: keeps a SwarmView of this machine's swarm fresh without ever blocking the UI. It
// runs `specswarm status --json` as a child (QProcess, asynchronous) and, when no `join` answers
// on this machine, `specswarm discover --json` to count the peers' idle cores from their mDNS
// records. One query at a time; the next starts `interval` after the last ended, so a change
// shows within interval + one query (a node that does not answer costs the query its --timeout
// of 1 s). A query that outlives its deadline is killed and reported.
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
  ~StatusFeed() override;  // kills a query still running: nothing outlives the tray
  void Start();
  // Asks now (after a share toggle) instead of waiting for the timer; no-op while asking.
  void Refresh();

 Q_SIGNALS:
  void Updated(const specswarm::tray::SwarmView& view);

 private:
  void Ask(const QStringList& args);
  void OnFinished(int exit_code, QProcess::ExitStatus status);
  void Publish(const SwarmView& view);

  QString specswarm_;
  int port_;
  int interval_ms_;
  QProcess process_;
  QTimer next_, deadline_;
  bool asking_discover_ = false;
  QString status_problem_;  // what `status` said when it found no `join` here
};

}  // namespace specswarm::tray
