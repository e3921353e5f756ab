#include "tray/status_feed.h"

#include <nlohmann/json.hpp>

namespace specswarm::tray {

namespace {
// Generous: status waits 1 s for silent peers, discover listens 1 s; both then exit.
constexpr int kQueryDeadlineMs = 10000;

QString LastLine(const QByteArray& bytes) {
  QList<QByteArray> lines = bytes.trimmed().split('\n');
  QString line = lines.isEmpty() ? QString() : QString::fromUtf8(lines.last()).trimmed();
  return line.startsWith("specswarm: ") ? line.mid(11) : line;
}
}  // namespace

StatusFeed::StatusFeed(QString specswarm, int port, int interval_ms, QObject* parent)
    : QObject(parent), specswarm_(std::move(specswarm)), port_(port), interval_ms_(interval_ms) {
  next_.setSingleShot(true);
  deadline_.setSingleShot(true);
  connect(&next_, &QTimer::timeout, this, &StatusFeed::Refresh);
  connect(&deadline_, &QTimer::timeout, this, [this] {
    process_.kill();  // finished() follows, with a crash status
  });
  connect(&process_, &QProcess::finished, this, &StatusFeed::OnFinished);
  connect(&process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
    if (error != QProcess::FailedToStart) return;
    deadline_.stop();
    Publish(ViewOfProblem("cannot run " + specswarm_.toStdString() + ": " + process_.errorString().toStdString()));
    next_.start(interval_ms_);
  });
}

StatusFeed::~StatusFeed() {
  process_.disconnect(this);
  if (process_.state() != QProcess::NotRunning) {
    process_.kill();
    process_.waitForFinished(1000);
  }
}

void StatusFeed::Start() { Refresh(); }

void StatusFeed::Refresh() {
  if (process_.state() != QProcess::NotRunning) return;
  next_.stop();
  asking_discover_ = false;
  Ask({"status", "--json", "--timeout", "1", "--port", QString::number(port_)});
}

void StatusFeed::Ask(const QStringList& args) {
  process_.start(specswarm_, args);
  deadline_.start(kQueryDeadlineMs);
}

void StatusFeed::OnFinished(int exit_code, QProcess::ExitStatus status) {
  deadline_.stop();
  const QByteArray out = process_.readAllStandardOutput();
  const QByteArray err = process_.readAllStandardError();
  const std::string what = asking_discover_ ? "discover" : "status";
  if (status != QProcess::NormalExit) {
    Publish(ViewOfProblem("`specswarm " + what + "` did not finish within " + std::to_string(kQueryDeadlineMs / 1000) + " s"));
  } else if (!asking_discover_ && exit_code == 1) {
    // No `join` on this machine: not sharing. Look for the swarm's peers on the LAN.
    status_problem_ = LastLine(err);
    asking_discover_ = true;
    Ask({"discover", "--json", "--timeout", "1"});
    return;
  } else {
    auto doc = nlohmann::json::parse(out.toStdString(), nullptr, false);
    Result<SwarmView> view = Status::Error("");
    if (doc.is_discarded()) {
      view = Status::Error(LastLine(err).isEmpty() ? "`specswarm " + what + "` printed no JSON" : LastLine(err).toStdString());
    } else if (asking_discover_) {
      view = ViewFromDiscover(doc, status_problem_.toStdString());  // exit 1 there: no peers
    } else {
      view = ViewFromStatus(doc);  // exit 0, or 2 with {"error": ...}
    }
    Publish(view.ok() ? *view : ViewOfProblem(view.status().message()));
  }
  next_.start(interval_ms_);
}

void StatusFeed::Publish(const SwarmView& view) { Q_EMIT Updated(view); }

}  // namespace specswarm::tray
