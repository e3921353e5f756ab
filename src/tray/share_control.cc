#include "tray/share_control.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTimer>

#include "tray/qt_child.h"

namespace specswarm::tray {

namespace {
constexpr const char* kUnit = "specswarm-join.service";
// join hands its files back and ends its runs' processes: the unit's TimeoutStopSec.
constexpr int kStopTimeoutMs = 30000;

bool UnitInstalled() {
  // systemd's user unit search path, package and administrator locations and the user's own.
  QStringList dirs{"/usr/lib/systemd/user", "/lib/systemd/user", "/usr/local/lib/systemd/user", "/etc/systemd/user"};
  dirs << QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) + "/systemd/user"
       << QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + "/systemd/user";
  for (const QString& dir : dirs)
    if (QFileInfo::exists(dir + "/" + kUnit)) return true;
  return false;
}

QString StateDir() {
  QString state = qEnvironmentVariable("XDG_STATE_HOME");
  if (state.isEmpty()) state = QDir::homePath() + "/.local/state";
  return state + "/specswarm";
}

}  // namespace

ShareControl::ShareControl(QString specswarm, QStringList join_args, QObject* parent)
    : QObject(parent), specswarm_(std::move(specswarm)), join_args_(std::move(join_args)) {
  // SPECSWARM_TRAY_NO_SYSTEMD: a test, or a person, who wants the tray's own child even where the
  // unit is installed.
  systemd_ = UnitInstalled() && qEnvironmentVariableIsEmpty("SPECSWARM_TRAY_NO_SYSTEMD");
  join_log_ = StateDir() + "/join.log";
  connect(&join_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
    if (error != QProcess::FailedToStart) return;
    Q_EMIT Problem("cannot start " + specswarm_ + " join: " + join_.errorString());
    Q_EMIT Done();
  });
  connect(&join_, &QProcess::finished, this, &ShareControl::OwnJoinEnded);
  connect(&join_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus status) {
    if (stopping_ || (status == QProcess::NormalExit && code == 0)) {
      stopping_ = false;
      return Done();
    }
    // join says why in one line (no key, refuses root, port taken): show that line.
    QFile log(join_log_);
    QString why = log.open(QIODevice::ReadOnly) ? LastLine(log.readAll()) : QString();
    Q_EMIT Problem("specswarm join stopped (" + (status == QProcess::NormalExit ? "exit " + QString::number(code) : QString("crashed")) +
                 ")" + (why.isEmpty() ? "" : ": " + why) + "; its log: " + join_log_);
    Q_EMIT Done();
  });
}

ShareControl::~ShareControl() { StopOwnJoin(); }

void ShareControl::Start() {
  if (systemd_) return Systemctl("start");
  if (owns_join()) return;
  QDir().mkpath(StateDir());
  join_.setStandardOutputFile(join_log_, QIODevice::Append);
  join_.setStandardErrorFile(join_log_, QIODevice::Append);
  join_.setStandardInputFile(QProcess::nullDevice());
  DieWithTray(join_);
  stopping_ = false;
  join_.start(specswarm_, QStringList{"join"} + join_args_);
  Q_EMIT Done();
}

void ShareControl::Stop() {
  if (systemd_) return Systemctl("stop");
  if (!owns_join()) {
    Q_EMIT Problem("this machine's specswarm join was not started by the tray: stop it where it was started");
    return;
  }
  stopping_ = true;
  join_.terminate();  // SIGTERM: join finishes its answers and withdraws its mDNS record
}

void ShareControl::StopOwnJoin() {
  if (!owns_join()) return;
  stopping_ = true;
  join_.terminate();
  if (!join_.waitForFinished(kStopTimeoutMs)) {
    join_.kill();
    join_.waitForFinished(5000);
  }
}

void ShareControl::StopOwnJoinAsync() {
  if (!owns_join()) {
    Q_EMIT OwnJoinEnded();
    return;
  }
  stopping_ = true;
  join_.terminate();
  QTimer::singleShot(kStopTimeoutMs, this, [this] {
    if (owns_join()) join_.kill();
  });
}

void ShareControl::Systemctl(const QString& verb) {
  auto* process = new QProcess(this);
  connect(process, &QProcess::finished, this, [this, process, verb](int code, QProcess::ExitStatus status) {
    if (status != QProcess::NormalExit || code != 0) {
      QString why = LastLine(process->readAllStandardError());
      Q_EMIT Problem("systemctl --user " + verb + " " + kUnit + " failed" + (why.isEmpty() ? "" : ": " + why));
    }
    process->deleteLater();
    Q_EMIT Done();
  });
  connect(process, &QProcess::errorOccurred, this, [this, process](QProcess::ProcessError error) {
    if (error != QProcess::FailedToStart) return;
    Q_EMIT Problem("cannot run systemctl: " + process->errorString());
    process->deleteLater();
    Q_EMIT Done();
  });
  process->start("systemctl", {"--user", verb, kUnit});
}

}  // namespace specswarm::tray
