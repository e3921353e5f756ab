// ShareControl: starts and stops this machine's `specswarm join`, the "Share this machine's idle
// cores" toggle. Where the package's systemd user unit is installed it asks systemd
// (`systemctl --user start|stop specswarm-join.service`), so the journal keeps join's log and
// the unit's niceness and restart policy apply. Elsewhere it runs `specswarm join JOIN_ARGS` as
// its own child, logging to $XDG_STATE_HOME/specswarm/join.log, stops it with SIGTERM, and stops
// it when the tray quits: nothing the tray starts outlives it. A `join` started some other way
// (a terminal) is never signalled: the tray only stops what it started.
//
// Owned by the Qt thread that created it; not thread-safe.
#pragma once

#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace specswarm::tray {

class ShareControl : public QObject {
  Q_OBJECT
 public:
  ShareControl(QString specswarm, QStringList join_args, QObject* parent = nullptr);
  ~ShareControl() override;

  // True when specswarm-join.service is installed where systemd looks for user units (package,
  // administrator, ~/.config and ~/.local/share; decided once, at start).
  bool through_systemd() const { return systemd_; }
  // True while a `join` this tray started itself runs.
  bool owns_join() const { return join_.state() != QProcess::NotRunning; }

  void Start();
  void Stop();
  // Stops a `join` this tray started, waiting up to its shutdown time (on exit, after the loop).
  void StopOwnJoin();
  // The same without waiting (Quit from the menu): OwnJoinEnded follows, killed after 30 s.
  void StopOwnJoinAsync();

 Q_SIGNALS:
  // One line for the person: why sharing did not start or stop. Empty when an action succeeds.
  void Problem(const QString& line);
  // An action ended (its effect shows in the next status).
  void Done();
  // The `join` this tray started has exited.
  void OwnJoinEnded();

 private:
  void Systemctl(const QString& verb);

  QString specswarm_;
  QStringList join_args_;
  bool systemd_ = false;
  QProcess join_;
  bool stopping_ = false;  // the tray asked join to stop: its exit is no problem
  QString join_log_;
};

}  // namespace specswarm::tray
