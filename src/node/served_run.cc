#include "node/served_run.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

#include "base/child_process.h"
#include "node/sockets.h"
#include "node/spec_files.h"
#include "sync/prepare.h"

namespace specswarm::node {
namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

constexpr double kRetakeSeconds = 5;

}  // namespace

ServedRun::ServedRun(PeerContext* context, std::string routing_id, OfferMsg offer, int first_slot, int slots)
    : context_(context), routing_id_(std::move(routing_id)), offer_(std::move(offer)), first_slot_(first_slot),
      slots_(slots) {
  started_ = last_heard_ = last_sent_ = Clock::now();
  run_dir_ = context_->state_dir + "/runs/" + offer_.run_id;
}

struct ServedRun::PrepareJob {
  explicit PrepareJob(sync::ObjectStore s) : store(std::move(s)) {}
  // Inputs, owned by the job.
  sync::ObjectStore store;
  std::optional<sync::PackReceiver> receiver;
  OfferMsg offer;
  int first_slot = 1;
  std::vector<int> slots;
  std::shared_ptr<std::mutex> mutex;
  int signal_fd = -1;  // the write end; the job closes it
  // Outputs, published by `done`.
  std::string error;
  std::string work_dir;
  std::atomic<bool> done{false};

  void Run() {
    std::lock_guard<std::mutex> lock(*mutex);
    if (receiver && !store.Has(offer.commit)) {
      if (Status s = receiver->Finish(); !s.ok()) error = "the code did not arrive intact: " + s.message();
    }
    if (error.empty()) {
      sync::PrepareOptions options;
      options.slots = slots;
      auto prepared = sync::PrepareWorkDir(store, "s" + std::to_string(first_slot), offer.commit, options);
      if (!prepared.ok()) {
        error = prepared.status().message();
      } else {
        work_dir = prepared->work_dir;
      }
    }
    const std::string project = work_dir + (offer.project_subdir.empty() ? "" : "/" + offer.project_subdir);
    if (error.empty() && offer.bundler && std::filesystem::exists(project + "/Gemfile")) {
      int code = 0;
      std::string output;
      Status ran = RunShell("bundle check", project, {}, &code, &output, 2048);
      if (!ran.ok() || code != 0) {
        error = "`bundle check` failed after setup (" + FirstLine(ran.ok() ? output : ran.message()) +
                "): install the bundle on this machine or add a per_peer setup hook that does";
      }
    }
    done.store(true, std::memory_order_release);
    char byte = 1;
    (void)!write(signal_fd, &byte, 1);  // the run may have stopped listening: SIGPIPE is ignored
    close(signal_fd);
  }
};

ServedRun::~ServedRun() {
  pool_.reset();
  if (prepared_fd_ >= 0) close(prepared_fd_);
  std::error_code ec;
  std::filesystem::remove_all(run_dir_, ec);
}

void ServedRun::Send(const Message& message) {
  SendTo(*context_->router, routing_id_, message);
  last_sent_ = Clock::now();
}

Status ServedRun::Begin() {
  if (offer_.reserve_only) {
    phase_ = Phase::kReserved;
    Send(AcceptMsg{offer_.run_id, slots_, {}});
    return Status::Ok();
  }
  std::error_code ec;
  std::filesystem::create_directories(run_dir_, ec);
  if (ec) return Status::Error("cannot create " + run_dir_ + ": " + ec.message());
  auto store = sync::ObjectStore::Open(context_->state_dir + "/store", offer_.repo_key);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  Send(AcceptMsg{offer_.run_id, slots_, store_->Haves()});
  return Status::Ok();
}

void ServedRun::Handle(const Message& message) {
  last_heard_ = Clock::now();
  if (auto* info = std::get_if<PackInfoMsg>(&message)) {
    if (phase_ != Phase::kSyncing || receiver_) return;
    if (info->commit != offer_.commit) return Fail("the pack announced another commit than the run's");
    if (store_->Has(offer_.commit)) return StartPreparing();
    auto receiver = sync::PackReceiver::Start(*store_, sync::PackInfo{info->commit, info->pack_id, info->size, info->objects});
    if (!receiver.ok()) return Fail("cannot receive the code: " + receiver.status().message());
    receiver_ = std::move(*receiver);
    if (receiver_->all_received()) return StartPreparing();
    Send(ChunkRequestMsg{offer_.run_id, info->pack_id, receiver_->received()});
  } else if (auto* chunk = std::get_if<PackChunkMsg>(&message)) {
    if (phase_ != Phase::kSyncing || !receiver_ || chunk->pack_id != receiver_->info().pack_id) return;
    if (Status s = receiver_->Append(chunk->offset, chunk->bytes); !s.ok()) {
      spdlog::warn("run {}: dropped a chunk: {}", offer_.run_id, s.message());
    }
    if (receiver_->all_received()) return StartPreparing();
    Send(ChunkRequestMsg{offer_.run_id, chunk->pack_id, receiver_->received()});
  } else if (auto* lease = std::get_if<LeaseMsg>(&message)) {
    if (phase_ != Phase::kRunning) return;
    asked_.erase(lease->slot);
    SpecUnit unit;
    unit.id = lease->unit_id;
    unit.file = lease->file;
    unit.ids = lease->ids;
    unit.except_ids = lease->except_ids;
    ready_.push_back(Lease{lease->lease_id, std::move(unit), lease->slot});
    pool_->Dispatch();
  } else if (std::get_if<FinishMsg>(&message)) {
    if (phase_ != Phase::kRunning) {
      Send(DoneMsg{offer_.run_id});  // nothing ran here: nothing to finish
      return End("finished");
    }
    phase_ = Phase::kClosing;
    pool_->Close();
  } else if (phase_ == Phase::kReserved && std::get_if<FinishMsg>(&message)) {
    End("finished");
  } else if (auto* cancel = std::get_if<CancelMsg>(&message)) {
    leaving_ = true;  // nothing to hand back: the coordinator is done with us
    End(phase_ == Phase::kReserved ? "released" : "cancelled by the coordinator (" + cancel->why + ")");
  }
}

void ServedRun::StartPreparing() {
  phase_ = Phase::kPreparing;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return Fail("cannot create a pipe");
  prepared_fd_ = fds[0];
  spdlog::info("run {}: code received ({} bytes), checking out {}", offer_.run_id,
               receiver_ ? receiver_->info().size : 0, offer_.commit.substr(0, 12));
  job_ = std::make_shared<PrepareJob>(*store_);
  job_->receiver = std::move(receiver_);
  receiver_.reset();
  job_->offer = offer_;
  job_->first_slot = first_slot_;
  for (int i = 0; i < slots_; ++i) job_->slots.push_back(first_slot_ + i);
  job_->mutex = context_->store_mutex;
  job_->signal_fd = fds[1];
  std::thread([job = job_] { job->Run(); }).detach();
}

void ServedRun::Prepared() {
  if (!job_->done.load(std::memory_order_acquire)) return;
  std::shared_ptr<PrepareJob> job = std::move(job_);
  if (!job->error.empty()) return Fail(job->error);
  work_dir_ = job->work_dir;
  const std::string project = work_dir_ + (offer_.project_subdir.empty() ? "" : "/" + offer_.project_subdir);
  const std::string targets_file = run_dir_ + "/targets";
  if (Status s = WriteTargetsFile(targets_file, offer_.targets); !s.ok()) return Fail(s.message());
  SlotPoolOptions options;
  options.slots = slots_;
  options.first_slot = first_slot_;
  options.unit_timeout = offer_.unit_timeout;
  options.boot_timeout = offer_.boot_timeout;
  exec::WorkerConfig& worker = options.worker;
  worker.project_dir = project;
  worker.shim = context_->shim;
  worker.ruby = context_->ruby;
  worker.rspec_args = offer_.rspec_args;
  worker.targets_file = targets_file;
  worker.preload = offer_.preload;
  worker.isolation = offer_.fork_isolation ? exec::Isolation::kFork : exec::Isolation::kReset;
  worker.bundler = offer_.bundler;
  worker.scratch_dir = run_dir_;
  worker.first_is_1 = offer_.first_is_1;
  worker.private_tmp = slots_ > 1 && !offer_.shared_tmp && exec::CheckPrivateTmp().ok();
  spdlog::info("run {}: checked out in {:.1f} s, booting {} slot{}", offer_.run_id, Since(started_), slots_,
               slots_ == 1 ? "" : "s");
  phase_ = Phase::kBooting;
  pool_ = std::make_unique<SlotPool>(options, this);
  pool_->Start();
}

std::vector<int> ServedRun::PollFds() const {
  std::vector<int> fds;
  if (phase_ == Phase::kPreparing && prepared_fd_ >= 0) fds.push_back(prepared_fd_);
  if (pool_) {
    for (int fd : pool_->PollFds()) fds.push_back(fd);
  }
  return fds;
}

int ServedRun::TimeoutMs() const {
  int timeout = static_cast<int>(kHeartbeatInterval * 1000);
  if (pool_) timeout = std::min(timeout, pool_->TimeoutMs());
  return timeout;
}

void ServedRun::Process() {
  if (over()) return;
  if (phase_ == Phase::kPreparing) {
    char done = 0;
    if (read(prepared_fd_, &done, 1) == 1) Prepared();
  }
  if (pool_ && !over()) {
    pool_->Process();
    if (phase_ == Phase::kBooting && !pool_->any_alive()) {
      return Fail("no slot could boot the project: " + FirstLine(pool_->boot_error()));
    }
    if (phase_ == Phase::kRunning && !pool_->any_alive()) return Fail("every slot of this peer died");
    if (phase_ == Phase::kClosing && pool_->closed()) {
      Send(DoneMsg{offer_.run_id});
      return End("finished");
    }
  }
  if (over()) return;
  if (Since(last_heard_) > kHeartbeatExpiry) {
    leaving_ = true;  // nobody to hand anything back to
    char why[120];
    std::snprintf(why, sizeof why, "lost the coordinator %s (no heartbeat for %.0f s); its workers were stopped",
                  offer_.coordinator_host.c_str(), Since(last_heard_));
    return End(why);
  }
  if (Since(last_sent_) >= kHeartbeatInterval) {
    HeartbeatMsg beat{offer_.run_id, pool_ ? pool_->LeaseIds() : std::vector<int>{}};
    for (const Lease& lease : ready_) beat.leases.push_back(lease.id);
    Send(beat);
  }
  // A request lost with a broken link would leave its slot idle: ask again now and then (an
  // extra lease it brings is queued here and run by the next idle slot).
  for (auto& [slot, since] : asked_) {
    if (phase_ == Phase::kRunning && Since(since) > kRetakeSeconds) {
      since = Clock::now();
      Send(TakeMsg{offer_.run_id, slot});
    }
  }
}

void ServedRun::Leave(const std::string& why) {
  if (over()) return;
  leaving_ = true;
  if (pool_) pool_->Stop();  // Return() collects what the slots held
  for (const Lease& lease : ready_) handed_back_.push_back(lease.id);
  ready_.clear();
  if (!handed_back_.empty()) Send(ReturnedMsg{offer_.run_id, handed_back_, why});
  Send(FailedMsg{offer_.run_id, why});
  End("left: " + why);
}

void ServedRun::Fail(const std::string& why) {
  if (over()) return;
  spdlog::warn("run {}: cannot serve it: {}", offer_.run_id, why);
  Leave(why);
}

void ServedRun::End(const std::string& outcome) {
  if (over()) return;
  leaving_ = true;
  if (pool_) pool_->Stop();
  phase_ = Phase::kOver;
  outcome_ = outcome;
}

std::optional<Lease> ServedRun::Take(int slot) {
  if (!ready_.empty()) {
    Lease lease = std::move(ready_.front());
    ready_.pop_front();
    lease.slot = slot;
    return lease;
  }
  if (phase_ == Phase::kRunning && !asked_.count(slot)) {
    asked_[slot] = Clock::now();
    Send(TakeMsg{offer_.run_id, slot});
  }
  return std::nullopt;
}

void ServedRun::Done(const Lease& lease, exec::UnitResult result) {
  ++files_done_;
  result.host = context_->host;
  Send(ResultMsg{offer_.run_id, lease.id, std::move(result)});
}

void ServedRun::Return(const Lease& lease) {
  if (leaving_) {
    handed_back_.push_back(lease.id);
  } else {
    Send(ReturnedMsg{offer_.run_id, {lease.id}, "its worker could not run it"});
  }
}

void ServedRun::OnExample(const Lease& lease, const exec::ExampleResult& example) {
  Send(ExampleMsg{offer_.run_id, lease.id, example});
}

void ServedRun::OnRunLevelResult(exec::UnitResult result) {
  result.host = context_->host;
  Send(SuiteResultMsg{offer_.run_id, std::move(result)});
}

void ServedRun::OnBooted(const std::vector<std::string>& /*messages*/) {
  if (phase_ != Phase::kBooting) return;
  phase_ = Phase::kRunning;
  spdlog::info("run {}: booted, pulling files from {}", offer_.run_id, offer_.coordinator_host);
  Send(ReadyMsg{offer_.run_id, slots_, Since(started_)});
}

void ServedRun::OnNotice(const std::string& line) { spdlog::info("run {}: {}", offer_.run_id, line); }

}  // namespace specswarm::node
