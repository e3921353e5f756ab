#include "node/slot_pool.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <poll.h>
#include <unistd.h>

#include "exec/process_sweep.h"

namespace specswarm::node {
namespace {

// After a timeout's kill, how long the worker has to report its child gone before the worker
// itself is taken for stuck and replaced.
constexpr double kKillGraceSeconds = 10;
constexpr double kPersistTimeoutSeconds = 60;
// Children that die while idle (a crash in before(:suite), say) are re-forked this many times.
constexpr int kMaxIdleChildDeaths = 3;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string Seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", s);
  return text;
}

// "killed by signal 11 (Segmentation fault)", "exited with status 3".
std::string DescribeExit(const exec::ChildExitedEvent& exited) {
  if (exited.signal) return "killed by signal " + std::to_string(*exited.signal) + " (" + strsignal(*exited.signal) + ")";
  return "exited with status " + std::to_string(exited.exit_code.value_or(-1));
}

std::string DescribeChildExit(const exec::ChildExitedEvent& exited) {
  std::string text = "the process running it " + std::string(exited.signal ? "was " : "") + DescribeExit(exited);
  if (!exited.signal) text += " before RSpec finished (exit!, exit or abort outside of an example?)";
  return text;
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

struct SlotPool::Slot {
  int number = 0;
  std::unique_ptr<exec::RubyWorker> worker;
  SlotState state = SlotState::kBooting;
  std::optional<Lease> lease;
  exec::UnitResult current;
  bool timed_out = false;
  Clock::time_point started;        // of the unit, or of the boot, or of the close
  Clock::time_point killed;         // when a timeout killed the unit's child
  int unit_child = 0;               // the child that started the current unit
  int killed_child = 0;             // the child a timeout killed, until it is reported gone
  int finished_child = 0;           // the child that finished the last unit
  int restarts = 0;
  int idle_child_deaths = 0;
  bool booted = false;
  std::string boot_error;
  std::vector<std::string> loose_messages;  // RSpec messages outside of any unit
};

SlotPool::SlotPool(SlotPoolOptions options, UnitSource* source)
    : options_(std::move(options)), source_(source) {}

SlotPool::~SlotPool() {
  for (auto& slot : slots_) {
    if (slot->worker) slot->worker->Stop();  // the source may be gone: no callbacks from here
  }
}

void SlotPool::StartWorker(Slot& slot) {
  slot.worker = std::make_unique<exec::RubyWorker>(slot.number, options_.worker);
  slot.state = SlotState::kBooting;
  slot.started = Clock::now();
  slot.idle_child_deaths = 0;
  Status status = slot.worker->Start();
  if (!status.ok()) {
    slot.state = SlotState::kDead;
    slot.boot_error = status.message();
  }
}

void SlotPool::Start() {
  last_reap_ = Clock::now();
  for (int i = 0; i < options_.slots; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->number = options_.first_slot + i;
    StartWorker(*slots_.back());
  }
}

std::vector<int> SlotPool::PollFds() const {
  std::vector<int> fds;
  for (const auto& slot : slots_) {
    if (!slot->worker || !slot->worker->running()) continue;
    for (int fd : {slot->worker->event_fd(), slot->worker->exit_fd()})
      if (fd >= 0) fds.push_back(fd);
  }
  return fds;
}

void SlotPool::Drain(Slot& slot) {
  std::vector<Result<exec::WorkerEvent>> events;
  slot.worker->ReadEvents(&events);
  for (auto& event : events) {
    if (!slot.worker) break;  // given up while handling an earlier event
    if (event.ok()) {
      Handle(slot, *event);
    } else {
      source_->OnNotice("slot " + std::to_string(slot.number) + ": " + event.status().message());
    }
  }
}

void SlotPool::Process() {
  for (auto& slot : slots_) {
    if (slot->worker && slot->worker->running() && slot->worker->event_fd() >= 0) Drain(*slot);
  }
  // A worker's exit is read from its pidfd (or, without one, checked on every pass), never
  // from the end of its event channel: a daemon a spec started may hold that open.
  for (auto& slot : slots_) {
    if (!slot->worker || !slot->worker->running()) continue;
    if (!slot->worker->Exited()) continue;
    Drain(*slot);  // what it wrote before it went
    if (slot->worker) HandleWorkerExit(*slot);
  }
  EnforceDeadlines();
  if (SecondsSince(last_reap_) >= 1) {
    last_reap_ = Clock::now();
    std::vector<pid_t> workers;
    for (const auto& slot : slots_) {
      if (slot->worker && slot->worker->running()) workers.push_back(slot->worker->pid());
    }
    exec::ReapOrphans(workers);
  }
}

void SlotPool::Handle(Slot& slot, const exec::WorkerEvent& event) {
  exec::UnitResult& unit = slot.current;
  const bool busy = slot.state == SlotState::kBusy;
  if (auto* booted = std::get_if<exec::BootedEvent>(&event)) {
    if (slot.state != SlotState::kBooting) return;
    slowest_boot_ = std::max(slowest_boot_, booted->boot_time);
    slot.state = SlotState::kIdle;
    slot.booted = true;
    if (!boot_messages_shown_) {
      boot_messages_shown_ = true;
      source_->OnBooted(booted->messages);
    }
    if (status_path_.empty()) status_path_ = booted->status_path;
    DispatchTo(slot);
  } else if (auto* failed = std::get_if<exec::BootFailedEvent>(&event)) {
    slot.boot_error = failed->error;
    if (boot_error_kind_.empty()) boot_error_kind_ = failed->kind;
  } else if (auto* started = std::get_if<exec::StartedEvent>(&event)) {
    if (busy && started->unit == unit.unit_id) slot.unit_child = started->pid;
  } else if (auto* group = std::get_if<exec::GroupEvent>(&event)) {
    if (!busy) return;
    unit.outline.push_back(static_cast<int>(unit.groups.size()));
    unit.groups.push_back(group->group);
  } else if (auto* example = std::get_if<exec::ExampleEvent>(&event)) {
    if (!busy) return;
    unit.outline.push_back(~static_cast<int>(unit.examples.size()));
    unit.examples.push_back(example->example);
    unit.examples.back().slot = slot.number;
    source_->OnExample(*slot.lease, unit.examples.back());
  } else if (auto* message = std::get_if<exec::MessageEvent>(&event)) {
    (busy ? unit.messages : slot.loose_messages).push_back(message->text);
  } else if (auto* finished = std::get_if<exec::FinishedEvent>(&event)) {
    if (!busy || finished->unit != unit.unit_id) return;
    unit.errors_outside_examples += finished->errors_outside;
    unit.output = finished->output;
    slot.idle_child_deaths = 0;
    slot.finished_child = slot.unit_child;
    FinishUnit(slot, exec::UnitOutcome::kCompleted, "");
    DispatchTo(slot);
  } else if (auto* exited = std::get_if<exec::ChildExitedEvent>(&event)) {
    HandleChildExited(slot, *exited);
  } else if (auto* suite = std::get_if<exec::SuiteDoneEvent>(&event)) {
    std::vector<std::string> messages = std::move(slot.loose_messages);
    messages.insert(messages.end(), suite->messages.begin(), suite->messages.end());
    slot.loose_messages.clear();
    if (suite->errors_outside > 0) AddRunLevelError(slot, std::move(messages), suite->errors_outside, "");
  } else if (auto* persisted = std::get_if<exec::PersistedEvent>(&event)) {
    if (!persisted->error.empty()) source_->OnNotice(persisted->error);
    if (slot.state == SlotState::kPersisting) slot.state = SlotState::kIdle;
  }
}

void SlotPool::HandleChildExited(Slot& slot, const exec::ChildExitedEvent& exited) {
  if (exited.pid == slot.killed_child) {
    // The child a timeout killed after its unit had already finished: nothing to report.
    slot.killed_child = 0;
    if (slot.state != SlotState::kBusy || slot.unit_child != exited.pid) return;
  }
  switch (slot.state) {
    case SlotState::kBusy:
      // A unit timed out before its child said it started: the child killed was its.
      if (slot.unit_child == exited.pid || (slot.timed_out && slot.unit_child == 0)) {
        slot.current.output = exited.output;
        slot.current.signal = exited.signal;
        slot.current.exit_code = exited.exit_code.value_or(-1);
        if (slot.timed_out) {
          FinishUnit(slot, exec::UnitOutcome::kTimedOut, "");
        } else {
          FinishUnit(slot, exec::UnitOutcome::kCrashed, DescribeChildExit(exited));
        }
        DispatchTo(slot);
        return;
      }
      if (exited.pid == slot.finished_child) return;  // ended after its last unit finished
      break;  // an idle child died before it took this unit; the next child will take it
    case SlotState::kClosing:
      // Its worker would fork a fresh child to finish the run again: there is nothing to finish.
      AddRunLevelError(slot, std::move(slot.loose_messages), 1,
                       "the process running after(:suite) hooks on slot " + std::to_string(slot.number) + " " +
                           DescribeExit(exited));
      slot.loose_messages.clear();
      slot.worker->Stop();
      slot.state = SlotState::kDead;
      return;
    case SlotState::kPersisting:
      source_->OnNotice("example statuses not written: the process writing them died");
      slot.state = SlotState::kIdle;
      return;
    default:
      if (exited.pid == slot.finished_child) return;
      break;
  }
  if (++slot.idle_child_deaths > kMaxIdleChildDeaths) {
    std::string why = "its RSpec process died " + std::to_string(slot.idle_child_deaths) +
                      " times before running anything";
    if (!exited.output.empty()) why += "; last output: " + FirstLine(exited.output);
    GiveUp(slot, why);
  }
}

void SlotPool::FinishUnit(Slot& slot, exec::UnitOutcome outcome, std::string problem) {
  exec::UnitResult& unit = slot.current;
  unit.outcome = outcome;
  if (outcome == exec::UnitOutcome::kTimedOut) {
    problem = "it ran longer than the per-file timeout of " + Seconds(options_.unit_timeout) +
              " s and was killed, with every process it had started (raise it with --timeout)";
  }
  unit.problem = std::move(problem);
  if (outcome != exec::UnitOutcome::kCompleted) unit.errors_outside_examples += 1;
  unit.wall_time = SecondsSince(slot.started);
  exec::UnitResult result = std::move(unit);
  Lease lease = std::move(*slot.lease);
  slot.lease.reset();
  slot.current = exec::UnitResult();
  slot.timed_out = false;
  slot.unit_child = 0;
  slot.state = SlotState::kIdle;
  source_->Done(lease, std::move(result));
}

void SlotPool::HandleWorkerExit(Slot& slot) {
  const std::string how = slot.worker->exit_description();
  switch (slot.state) {
    case SlotState::kBooting:
      // Booting the project is the same on every slot: a failure here is not worth a retry.
      if (slot.boot_error.empty()) slot.boot_error = "the Ruby worker exited while booting (" + how + ")";
      slot.boot_error += "\n" + slot.worker->BootLog();
      slot.state = SlotState::kDead;
      return;
    case SlotState::kClosing:
      slot.state = SlotState::kDead;
      return;
    case SlotState::kPersisting:
      source_->OnNotice("example statuses not written: slot " + std::to_string(slot.number) + "'s worker died (" + how + ")");
      slot.state = SlotState::kDead;
      return;
    case SlotState::kBusy:
      if (slot.current.output.empty()) slot.current.output = slot.worker->BootLog();
      if (slot.timed_out) {
        FinishUnit(slot, exec::UnitOutcome::kTimedOut, "");
      } else {
        FinishUnit(slot, exec::UnitOutcome::kWorkerLost, "the Ruby worker of this slot died (" + how + ")");
      }
      break;
    default:
      break;
  }
  if (!taking_) {
    slot.state = SlotState::kDead;
    return;
  }
  if (slot.restarts >= options_.max_restarts_per_slot) {
    GiveUp(slot, "its worker died " + std::to_string(slot.restarts + 1) + " times (last: " + how + ")");
    return;
  }
  ++slot.restarts;
  source_->OnNotice("slot " + std::to_string(slot.number) + ": the Ruby worker died (" + how + "); booting a new one");
  StartWorker(slot);
}

void SlotPool::GiveUp(Slot& slot, const std::string& why) {
  source_->OnNotice("slot " + std::to_string(slot.number) + " gave up: " + why);
  if (slot.state == SlotState::kBusy) {
    Lease lease = std::move(*slot.lease);  // another slot runs it
    slot.lease.reset();
    source_->Return(lease);
    slot.current = exec::UnitResult();
  }
  slot.worker->Stop();
  slot.worker.reset();
  slot.state = SlotState::kDead;
}

void SlotPool::DispatchTo(Slot& slot) {
  if (slot.state != SlotState::kIdle || !taking_) return;
  std::optional<Lease> lease = source_->Take(slot.number);
  if (!lease) return;
  slot.current = exec::UnitResult();
  slot.current.unit_id = lease->unit.id;
  slot.current.file = lease->unit.file;
  slot.current.ids = lease->unit.ids;
  slot.current.slot = slot.number;
  slot.timed_out = false;
  slot.unit_child = 0;
  slot.started = Clock::now();
  Status sent = slot.worker->Run(lease->unit.id, lease->unit.file, lease->unit.ids, lease->unit.except_ids);
  if (!sent.ok()) {
    // Never started: back to the queue; the worker's exit is handled when it is seen.
    source_->Return(*lease);
    return;
  }
  slot.lease = std::move(lease);
  slot.state = SlotState::kBusy;
}

void SlotPool::EnforceDeadlines() {
  for (auto& slot_ptr : slots_) {
    Slot& slot = *slot_ptr;
    if (!slot.worker) continue;
    const double elapsed = SecondsSince(slot.started);
    switch (slot.state) {
      case SlotState::kBooting:
        if (options_.boot_timeout > 0 && elapsed > options_.boot_timeout) {
          slot.boot_error = "the project did not finish booting within " + Seconds(options_.boot_timeout) +
                            " s (loading spec_helper and the spec files hung?); raise the limit with --boot-timeout\n" +
                            slot.worker->BootLog();
          slot.worker->Stop();
          slot.state = SlotState::kDead;
        }
        break;
      case SlotState::kBusy:
        if (options_.unit_timeout > 0 && !slot.timed_out && elapsed > options_.unit_timeout) {
          slot.timed_out = true;
          slot.killed = Clock::now();
          slot.killed_child = slot.unit_child;
          slot.worker->KillChild();
        } else if (slot.timed_out && SecondsSince(slot.killed) > kKillGraceSeconds) {
          slot.worker->Stop();  // the worker did not report its child gone: replace it
          HandleWorkerExit(slot);
        }
        break;
      case SlotState::kPersisting:
        if (elapsed > kPersistTimeoutSeconds) {
          source_->OnNotice("example statuses not written: slot " + std::to_string(slot.number) +
                              " did not finish writing them within " + Seconds(kPersistTimeoutSeconds) + " s");
          slot.worker->Stop();
          slot.state = SlotState::kDead;
        }
        break;
      case SlotState::kClosing:
        if (elapsed > options_.close_timeout) {
          AddRunLevelError(slot, std::move(slot.loose_messages), 1,
                           "after(:suite) hooks and at_exit handlers on slot " + std::to_string(slot.number) +
                               " did not finish within " + Seconds(options_.close_timeout) + " s and were killed");
          slot.loose_messages.clear();
          slot.worker->Stop();
          slot.state = SlotState::kDead;
        }
        break;
      default:
        break;
    }
  }
}

int SlotPool::TimeoutMs() const {
  double soonest = 1.0;
  for (const auto& slot : slots_) {
    if (!slot->worker) continue;
    if (slot->worker->exit_fd() < 0) soonest = std::min(soonest, 0.2);
    const double elapsed = SecondsSince(slot->started);
    if (slot->state == SlotState::kBusy && options_.unit_timeout > 0 && !slot->timed_out) {
      soonest = std::min(soonest, options_.unit_timeout - elapsed);
    } else if (slot->state == SlotState::kBooting && options_.boot_timeout > 0) {
      soonest = std::min(soonest, options_.boot_timeout - elapsed);
    }
  }
  return std::max(1, static_cast<int>(std::ceil(soonest * 1000)));
}

void SlotPool::Dispatch() {
  for (auto& slot : slots_) DispatchTo(*slot);
}

void SlotPool::StopTaking() {
  taking_ = false;
  for (auto& slot : slots_) {
    if (slot->state == SlotState::kBooting && slot->worker) {
      slot->worker->Stop();  // still booting when the last unit was handed out: not needed
      slot->state = SlotState::kDead;
    }
  }
}

bool SlotPool::any_alive() const {
  return std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return s->state != SlotState::kDead; });
}

bool SlotPool::any_booted() const { return booted() > 0; }

int SlotPool::booted() const {
  return static_cast<int>(std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->booted; }));
}

int SlotPool::idle() const {
  return static_cast<int>(std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->state == SlotState::kIdle; }));
}

int SlotPool::busy() const {
  return static_cast<int>(std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->state == SlotState::kBusy; }));
}

std::vector<int> SlotPool::LeaseIds() const {
  std::vector<int> ids;
  for (const auto& slot : slots_) {
    if (slot->lease) ids.push_back(slot->lease->id);
  }
  return ids;
}

bool SlotPool::AnySlotIn(SlotState state) const {
  return std::any_of(slots_.begin(), slots_.end(), [state](const auto& s) { return s->state == state; });
}

std::string SlotPool::boot_error() const {
  if (any_booted()) return "";
  for (const auto& slot : slots_) {
    if (!slot->boot_error.empty()) return slot->boot_error;
  }
  return "";
}

std::vector<std::string> SlotPool::BootFailures() const {
  std::vector<std::string> lines;
  if (!any_booted()) return lines;
  for (const auto& slot : slots_) {
    if (slot->booted || slot->boot_error.empty()) continue;
    lines.push_back("slot " + std::to_string(slot->number) +
                    " could not boot the project, the run went on without it: " + FirstLine(slot->boot_error));
  }
  return lines;
}

bool SlotPool::Persist(const std::string& results_file) {
  auto idle = std::find_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->state == SlotState::kIdle; });
  if (idle == slots_.end()) return false;
  Slot& slot = **idle;
  if (!slot.worker->Persist(results_file).ok()) return false;
  slot.state = SlotState::kPersisting;
  slot.started = Clock::now();
  return true;
}

bool SlotPool::persisting() const { return AnySlotIn(SlotState::kPersisting); }

void SlotPool::Close() {
  StopTaking();
  for (auto& slot : slots_) {
    if (slot->state == SlotState::kIdle) {
      slot->worker->CloseInput();
      slot->state = SlotState::kClosing;
      slot->started = Clock::now();
    }
  }
}

bool SlotPool::closed() const {
  return !AnySlotIn(SlotState::kClosing) && !AnySlotIn(SlotState::kPersisting) && !AnySlotIn(SlotState::kBusy) &&
         !AnySlotIn(SlotState::kBooting);
}

void SlotPool::Stop() {
  for (auto& slot : slots_) {
    if (slot->state == SlotState::kBusy && slot->lease) {
      Lease lease = std::move(*slot->lease);  // never answered here
      slot->lease.reset();
      source_->Return(lease);
    }
    if (slot->worker) slot->worker->Stop();
    slot->state = SlotState::kDead;
  }
}

void SlotPool::AddRunLevelError(const Slot& slot, std::vector<std::string> messages, int errors, std::string problem) {
  exec::UnitResult result;
  result.file = "after(:suite)";
  result.slot = slot.number;
  result.messages = std::move(messages);
  result.errors_outside_examples = std::max(errors, 1);
  result.outcome = problem.empty() ? exec::UnitOutcome::kCompleted : exec::UnitOutcome::kCrashed;
  result.problem = std::move(problem);
  source_->OnRunLevelResult(std::move(result));
}

}  // namespace specswarm::node
