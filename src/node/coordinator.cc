#include "node/coordinator.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <poll.h>

namespace specswarm::node {
namespace {

std::atomic<bool> g_interrupted{false};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string DescribeCrash(const exec::UnitResult& unit) {
  if (unit.signal) {
    return "the process running it was killed by signal " + std::to_string(*unit.signal) + " (" +
           strsignal(*unit.signal) + ")";
  }
  return "the process running it exited with status " + std::to_string(unit.exit_code) +
         " before RSpec finished (exit!, exit or abort outside of an example?)";
}

}  // namespace

void Coordinator::Interrupt() { g_interrupted = true; }

Coordinator::Coordinator(CoordinatorOptions options, SpecQueue* queue, RunObserver* observer)
    : options_(std::move(options)), queue_(queue), observer_(observer) {}

Coordinator::~Coordinator() = default;

void Coordinator::StartWorker(Slot& slot) {
  slot.worker = std::make_unique<exec::RubyWorker>(slot.number, options_.worker);
  slot.state = SlotState::kBooting;
  Status status = slot.worker->Start();
  if (!status.ok()) {
    slot.state = SlotState::kDead;
    slot.boot_error = status.message();
  }
}

RunReport Coordinator::Run() {
  const auto start = Clock::now();
  g_interrupted = false;
  report_.slots = options_.slots;
  slots_.resize(static_cast<size_t>(options_.slots));
  for (int i = 0; i < options_.slots; ++i) {
    slots_[static_cast<size_t>(i)].number = i + 1;
    StartWorker(slots_[static_cast<size_t>(i)]);
  }

  std::vector<pollfd> fds;
  std::vector<Slot*> polled;
  while (!queue_->done()) {
    if (g_interrupted) {
      report_.interrupted = true;
      break;
    }
    if (!AnySlotAlive()) {
      DropPendingUnits();
      break;
    }
    fds.clear();
    polled.clear();
    for (auto& slot : slots_) {
      if (slot.worker && slot.worker->event_fd() >= 0) {
        fds.push_back(pollfd{slot.worker->event_fd(), POLLIN, 0});
        polled.push_back(&slot);
      }
    }
    int ready = poll(fds.data(), fds.size(), PollTimeoutMs());
    if (ready < 0 && errno != EINTR) break;
    for (size_t i = 0; ready > 0 && i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Slot& slot = *polled[i];
      std::vector<Result<exec::WorkerEvent>> events;
      bool open = slot.worker->ReadEvents(&events);
      for (auto& event : events) {
        if (event.ok()) {
          Handle(slot, *event);
        } else {
          observer_->OnNotice("slot " + std::to_string(slot.number) + ": " + event.status().message());
        }
      }
      if (!open) HandleWorkerExit(slot);
    }
    KillOverdueUnits();
  }

  for (auto& slot : slots_) {
    if (slot.state == SlotState::kBusy) ++report_.not_run;  // interrupted mid-unit
    if (slot.worker) slot.worker->Stop();
  }
  if (report_.units().empty() && !report_.interrupted) {
    for (const auto& slot : slots_) {
      if (!slot.boot_error.empty()) {
        report_.boot_error = slot.boot_error;
        break;
      }
    }
  }
  report_.not_run += static_cast<int>(queue_->Cancel().size());
  report_.wall_time = SecondsSince(start);
  return std::move(report_);
}

void Coordinator::Handle(Slot& slot, const exec::WorkerEvent& event) {
  exec::UnitResult& unit = slot.current;
  if (auto* booted = std::get_if<exec::BootedEvent>(&event)) {
    report_.slowest_boot = std::max(report_.slowest_boot, booted->boot_time);
    slot.state = SlotState::kIdle;
    Dispatch(slot);
  } else if (auto* failed = std::get_if<exec::BootFailedEvent>(&event)) {
    slot.boot_error = failed->error;
  } else if (auto* started = std::get_if<exec::StartedEvent>(&event)) {
    slot.unit_pid = started->pid;
  } else if (auto* group = std::get_if<exec::GroupEvent>(&event)) {
    unit.outline.push_back(static_cast<int>(unit.groups.size()));
    unit.groups.push_back(group->group);
  } else if (auto* example = std::get_if<exec::ExampleEvent>(&event)) {
    unit.outline.push_back(~static_cast<int>(unit.examples.size()));
    unit.examples.push_back(example->example);
    unit.examples.back().slot = slot.number;
    observer_->OnExample(unit.examples.back());
  } else if (auto* message = std::get_if<exec::MessageEvent>(&event)) {
    unit.messages.push_back(message->text);
  } else if (auto* summary = std::get_if<exec::SummaryEvent>(&event)) {
    unit.errors_outside_examples += summary->errors_outside;
    slot.summary_seen = true;
  } else if (auto* finished = std::get_if<exec::FinishedEvent>(&event)) {
    if (slot.state != SlotState::kBusy) return;
    unit.exit_code = finished->exit_code.value_or(-1);
    unit.signal = finished->signal;
    unit.output = finished->output;
    if (slot.timed_out) {
      FinishUnit(slot, exec::UnitOutcome::kTimedOut, "");
    } else if (finished->signal || !slot.summary_seen) {
      FinishUnit(slot, exec::UnitOutcome::kCrashed, DescribeCrash(unit));
    } else {
      FinishUnit(slot, exec::UnitOutcome::kCompleted, "");
    }
    Dispatch(slot);
  }
}

void Coordinator::FinishUnit(Slot& slot, exec::UnitOutcome outcome, std::string problem) {
  exec::UnitResult& unit = slot.current;
  unit.outcome = outcome;
  if (outcome == exec::UnitOutcome::kTimedOut) {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%g", options_.unit_timeout);
    problem = std::string("it ran longer than the per-file timeout of ") + limit +
              " s and was killed (raise it with --timeout)";
  }
  unit.problem = std::move(problem);
  if (outcome != exec::UnitOutcome::kCompleted) unit.errors_outside_examples += 1;
  unit.wall_time = SecondsSince(slot.started);
  queue_->Complete(slot.lease->id);
  if (options_.fail_fast && unit.HasFailures() && !stop_dispatching_) {
    stop_dispatching_ = true;
    report_.not_run += static_cast<int>(queue_->Cancel().size());
  }
  observer_->OnUnitFinished(unit);
  report_.Add(std::move(unit));
  slot.lease.reset();
  slot.current = exec::UnitResult();
  slot.state = SlotState::kIdle;
}

void Coordinator::HandleWorkerExit(Slot& slot) {
  const std::string how = slot.worker->exit_description();
  if (slot.state == SlotState::kBooting) {
    // Booting the project is the same on every slot: a failure here is not worth a retry.
    if (slot.boot_error.empty()) slot.boot_error = "the Ruby worker exited while booting (" + how + ")";
    slot.boot_error += "\n" + slot.worker->BootLog();
    slot.state = SlotState::kDead;
    return;
  }
  if (slot.state == SlotState::kBusy) {
    slot.current.output = slot.worker->BootLog();
    if (slot.timed_out) {
      FinishUnit(slot, exec::UnitOutcome::kTimedOut, "");
    } else {
      FinishUnit(slot, exec::UnitOutcome::kWorkerLost, "the Ruby worker of this slot died (" + how + ")");
    }
  }
  if (queue_->done() || stop_dispatching_) {
    slot.state = SlotState::kDead;
    return;
  }
  if (slot.restarts >= options_.max_restarts_per_slot) {
    observer_->OnNotice("slot " + std::to_string(slot.number) + " gave up after " +
                        std::to_string(slot.restarts) + " restarts of its worker");
    slot.state = SlotState::kDead;
    return;
  }
  ++slot.restarts;
  StartWorker(slot);
}

void Coordinator::Dispatch(Slot& slot) {
  if (slot.state != SlotState::kIdle || stop_dispatching_) return;
  std::optional<Lease> lease = queue_->Take(slot.number);
  if (!lease) return;
  slot.current = exec::UnitResult();
  slot.current.unit_id = lease->unit.id;
  slot.current.file = lease->unit.file;
  slot.current.ids = lease->unit.ids;
  slot.current.slot = slot.number;
  slot.summary_seen = false;
  slot.timed_out = false;
  slot.unit_pid = 0;
  slot.started = Clock::now();
  Status sent = slot.worker->Run(lease->unit.id, lease->unit.file, lease->unit.ids);
  if (!sent.ok()) {
    // Never started: back to the queue; the worker's exit is handled when its channel closes.
    queue_->Release(lease->id);
    return;
  }
  slot.lease = std::move(lease);
  slot.state = SlotState::kBusy;
}

void Coordinator::KillOverdueUnits() {
  if (options_.unit_timeout <= 0) return;
  for (auto& slot : slots_) {
    if (slot.state == SlotState::kBusy && !slot.timed_out &&
        SecondsSince(slot.started) > options_.unit_timeout) {
      slot.timed_out = true;
      slot.worker->KillUnit(slot.unit_pid > 0 ? slot.unit_pid : slot.worker->pid());
    }
  }
}

int Coordinator::PollTimeoutMs() const {
  if (options_.unit_timeout <= 0) return 1000;
  double soonest = 1.0;
  for (const auto& slot : slots_) {
    if (slot.state == SlotState::kBusy && !slot.timed_out) {
      soonest = std::min(soonest, options_.unit_timeout - SecondsSince(slot.started));
    }
  }
  return std::max(1, static_cast<int>(std::ceil(soonest * 1000)));
}

bool Coordinator::AnySlotAlive() const {
  return std::any_of(slots_.begin(), slots_.end(),
                     [](const Slot& s) { return s.state != SlotState::kDead; });
}

void Coordinator::DropPendingUnits() {
  // Every worker is gone: what is left cannot run here, but it still gets its one result.
  bool booted_any = !report_.units().empty();
  for (auto& unit : queue_->Cancel()) {
    if (!booted_any) {
      ++report_.not_run;
      continue;
    }
    exec::UnitResult result;
    result.unit_id = unit.id;
    result.file = unit.file;
    result.ids = unit.ids;
    result.outcome = exec::UnitOutcome::kNotRun;
    result.problem = "no slot was left to run it (every worker died)";
    result.errors_outside_examples = 1;
    observer_->OnUnitFinished(result);
    report_.Add(std::move(result));
  }
}

}  // namespace specswarm::node
