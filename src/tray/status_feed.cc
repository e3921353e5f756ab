#include "tray/status_feed.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tray/qt_child.h"

namespace specswarm::tray {

namespace {
// A round waits at most 1 s per silent node (--timeout 1); a watch silent far longer is stuck.
constexpr int kSilenceMs = 10000;
constexpr int kRestartMs = 2000;
// mDNS records change only when a node starts, stops or its load changes: the browse's listing
// is read at most this often.
constexpr int kDiscoverMinMs = 1000;

}  // namespace

StatusFeed::StatusFeed(QString specswarm, int port, int interval_ms, QObject* parent)
    : QObject(parent), specswarm_(std::move(specswarm)), port_(port), interval_ms_(interval_ms) {
  DieWithTray(watch_);
  DieWithTray(discover_);
  for (QTimer* t : {&silence_, &restart_, &next_discover_}) t->setSingleShot(true);
  connect(&silence_, &QTimer::timeout, this, [this] { watch_.kill(); });  // finished() restarts it
  connect(&restart_, &QTimer::timeout, this, &StatusFeed::Start);
  connect(&next_discover_, &QTimer::timeout, this, &StatusFeed::Discover);
  connect(&watch_, &QProcess::readyReadStandardOutput, this, [this] {
    while (watch_.canReadLine()) OnLine(watch_.readLine());
  });
  connect(&watch_, &QProcess::finished, this, &StatusFeed::OnWatchEnded);
  connect(&watch_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
    if (error != QProcess::FailedToStart) return;
    Q_EMIT Updated(ViewOfProblem("cannot run " + specswarm_.toStdString() + ": " + watch_.errorString().toStdString()));
    restart_.start(kRestartMs);
  });
  connect(&discover_, &QProcess::readyReadStandardOutput, this, [this] {
    while (discover_.canReadLine()) OnDiscovered(discover_.readLine());
  });
  connect(&discover_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
    if (error == QProcess::FailedToStart && !sharing_) next_discover_.start(kRestartMs);
  });
  connect(&discover_, &QProcess::finished, this, [this] {
    discover_.readAll();
    if (!sharing_) next_discover_.start(kRestartMs);  // it died: browse again
  });
}

StatusFeed::~StatusFeed() { StopAll(); }

void StatusFeed::StopAll() {
  for (QTimer* t : {&silence_, &restart_, &next_discover_}) t->stop();
  for (QProcess* p : {&watch_, &discover_}) {
    p->disconnect(this);
    Stop(*p);
  }
}

void StatusFeed::Stop(QProcess& process) {
  if (process.state() == QProcess::NotRunning) return;
  process.kill();
  process.waitForFinished(1000);
}

void StatusFeed::Start() {
  if (watch_.state() != QProcess::NotRunning) return;
  const QString interval = QString::number(interval_ms_ / 1000.0);
  watch_.start(specswarm_, {"status", "--json", "--watch", interval, "--timeout", "1", "--port", QString::number(port_)});
  silence_.start(kSilenceMs + interval_ms_);
}

void StatusFeed::Refresh() {
  // A new watch asks at once; the old one is mid-sleep.
  if (watch_.state() == QProcess::NotRunning) return Start();
  refreshing_ = true;
  watch_.kill();  // OnWatchEnded starts the new one
}

void StatusFeed::OnLine(const QByteArray& line) {
  silence_.start(kSilenceMs + interval_ms_);
  auto doc = nlohmann::json::parse(line.toStdString(), nullptr, false);
  if (doc.is_discarded()) return;  // not a document: ignore it, the next one will do
  if (doc.contains("nodes") && doc["nodes"].is_array() && doc["nodes"].empty()) {
    // No join answers here: not sharing. The peers' mDNS records still tell the swarm's cores.
    sharing_ = false;
    const auto error = doc.find("error");
    status_error_ = error != doc.end() && error->is_string() ? QString::fromStdString(error->get<std::string>())
                                                             : QString("no node answered");
    if (!next_discover_.isActive()) Discover();
    return;
  }
  sharing_ = true;
  next_discover_.stop();
  Stop(discover_);
  auto view = ViewFromStatus(doc);
  Q_EMIT Updated(view.ok() ? *view : ViewOfProblem(view.status().message()));
}

void StatusFeed::OnWatchEnded(int exit_code, QProcess::ExitStatus status) {
  silence_.stop();
  if (refreshing_) {
    refreshing_ = false;
    watch_.readAll();
    return Start();
  }
  while (watch_.canReadLine()) OnLine(watch_.readLine());
  const QString why = LastLine(watch_.readAllStandardError());
  // Exit 2: no usable swarm key (or a bad flag). Anything else: it crashed or fell silent.
  const bool no_key = status == QProcess::NormalExit && exit_code == 2;
  std::string problem = no_key && !why.isEmpty()
                            ? why.toStdString()
                            : "`specswarm status --watch` stopped (" +
                                  (status == QProcess::NormalExit ? "exit " + std::to_string(exit_code) : std::string("killed")) +
                                  "): starting it again";
  sharing_ = false;
  next_discover_.stop();
  Q_EMIT Updated(ViewOfProblem(problem));
  restart_.start(no_key ? 5 * kRestartMs : kRestartMs);  // a key may be made meanwhile
}

void StatusFeed::Discover() {
  if (sharing_ || discover_.state() != QProcess::NotRunning) return;
  const QString interval = QString::number(std::max(interval_ms_, kDiscoverMinMs) / 1000.0);
  // avahi-daemon answers a new browse from its cache: half a second finds the peers it knows.
  discover_.start(specswarm_, {"discover", "--json", "--watch", interval, "--timeout", "0.5"});
}

void StatusFeed::OnDiscovered(const QByteArray& line) {
  if (sharing_) return;  // join started meanwhile: the watch's documents say more
  auto doc = nlohmann::json::parse(line.toStdString(), nullptr, false);
  if (doc.is_discarded()) return;
  auto view = ViewFromDiscover(doc, status_error_.toStdString());
  Q_EMIT Updated(view.ok() ? *view : ViewOfProblem(view.status().message()));
}

}  // namespace specswarm::tray
