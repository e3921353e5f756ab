# specswarm's Ruby worker: boots the project once, then runs the spec files it is handed.
#
# Driven by specswarm's C++ RubyWorker (src/exec/ruby_worker.cc); not meant to be run by hand.
#   stdin   one JSON command per line: {"unit":7,"file":"spec/a_spec.rb","ids":["spec/a_spec.rb[1:2]"]}
#           end of input means "shut down"
#   fd N    (SPECSWARM_RESULT_FD) one JSON event per line, see RESULT EVENTS below
#   ARGV    the RSpec arguments every run gets (from `specswarm run -- ARGS`); no file names
# Environment: SPECSWARM_MODE=fork (a fresh child per unit) | reset (one reused child, see
# ReusedChild), SPECSWARM_CAPTURE=path for each file's stdout+stderr,
# SPECSWARM_PRELOAD=files to require once at boot (e.g. spec/rails_helper.rb), ":"-separated.
#
# RESULT EVENTS: booted, boot_failed, started, group, example, message, summary, finished.
# Results are structured here, never parsed from console text.

$stdout.sync = true
$stderr.sync = true

module SpecswarmWorker
  MAX_OUTPUT = 64 * 1024

  class << self
    attr_accessor :events, :json_ready

    def emit(event)
      line = (json_ready ? JSON.generate(event) : fallback_json(event)) + "\n"
      events.write(line)
      events.flush
    end

    # Before `json` can be required (it must come after bundler/setup, so a Gemfile's own json
    # wins), boot events are encoded by hand: they only hold strings and numbers.
    def fallback_json(event)
      "{" + event.map { |k, v| "#{k.to_s.inspect}:#{v.is_a?(Numeric) ? v : v.to_s.dump}" }.join(",") + "}"
    end
  end

  module_function

  def boot(argv, preload)
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    require "bundler/setup" if ENV["BUNDLE_GEMFILE"] || File.exist?("Gemfile")
    require "rspec/core"
    require "json"
    SpecswarmWorker.json_ready = true
    require_relative "specswarm_formatter"
    RSpec::Core::Runner.disable_autorun!
    # `requires=` loads spec_helper / rails_helper here, once, before any fork.
    parse_base_options(argv).configure(RSpec.configuration)
    # Backtraces show the user's code and RSpec's usual frames, never this shim.
    RSpec.configuration.backtrace_exclusion_patterns << Regexp.new(Regexp.escape(__dir__))
    preload.each { |path| require File.expand_path(path) }
    raise "an error occurred while loading the project's helpers (see the output above)" if RSpec.world.wants_to_quit
    warm_up if fork_per_unit?
    Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
  end

  # Fork isolation: everything RSpec and Rails would otherwise load lazily in each forked child
  # (RSpec's expectation and mock frameworks, formatter classes, matchers; the app's code and
  # schema) is loaded once here, so a child pays for its spec file alone, not ~30 ms of
  # requires. Reset isolation skips it: its one child per slot loads these once anyway, and
  # doing it here would only add CPU while N workers boot on few cores.
  def warm_up
    RSpec::Core::ExampleGroup.ensure_example_groups_are_configured
    require "rspec/core/formatters/base_text_formatter"
    require "rspec/core/profiler"
    if defined?(RSpec::Matchers::BuiltIn)
      RSpec::Matchers::BuiltIn.constants.each { |name| RSpec::Matchers::BuiltIn.const_get(name) }
    end
    warm_up_rails if defined?(Rails) && Rails.respond_to?(:application) && Rails.application
    GC.start # children start from a swept heap instead of each collecting the boot's garbage
  rescue StandardError, NotImplementedError => e
    warn "specswarm: warm-up skipped (#{e.class}: #{e.message}); each child will load it lazily"
  end

  def fork_per_unit? = ENV.fetch("SPECSWARM_MODE", "fork") == "fork"

  def warm_up_rails
    Rails.application.eager_load!
    if defined?(ActiveRecord::Base)
      ActiveRecord::Base.descendants.each do |model|
        model.columns unless model.abstract_class? || !model.table_exists?
      end
      # Each child opens its own connection; never share the parent's socket across forks.
      ActiveRecord::Base.connection_handler.clear_all_connections!
    end
  rescue StandardError, LoadError => e
    warn "specswarm: Rails eager loading skipped (#{e.class}: #{e.message})"
  end

  def run_unit(command, runner, capture)
    targets = command["ids"].to_a.empty? ? [command["file"]] : command["ids"]
    if runner
      run_in_reused_child(command, targets, runner, capture)
    else
      run_in_child(command, targets, capture)
    end
  end

  def run_in_child(command, targets, capture)
    pid = fork do
      redirect_output(capture)
      code = run_rspec(targets)
      $stdout.flush
      $stderr.flush
      exit!(code)
    end
    emit(t: "started", unit: command["unit"], pid: pid)
    _, status = Process.wait2(pid)
    emit(t: "finished", unit: command["unit"], exit: status.exitstatus, signal: status.termsig,
         output: read_capture(capture))
  end

  def run_in_reused_child(command, targets, runner, capture)
    runner.start unless runner.alive?
    emit(t: "started", unit: command["unit"], pid: runner.pid)
    exit_code, signal = runner.run(targets)
    emit(t: "finished", unit: command["unit"], exit: exit_code, signal: signal, output: read_capture(capture))
  end

  # Reset isolation: one long-lived child, forked from the booted parent, runs unit after unit
  # and resets RSpec's world between them (the COOKPAD approach: lazy loading and the app's
  # first-request warm-up are paid once per slot, not once per file). The parent stays pristine,
  # so a child that crashes or is killed costs only the unit it was running; the next unit gets
  # a fresh fork.
  class ReusedChild
    attr_reader :pid

    def initialize(capture)
      @capture = capture
      @pid = nil
    end

    def alive? = !@pid.nil?

    def start
      command_r, @commands = IO.pipe
      @acks, ack_w = IO.pipe
      @pid = fork do
        @commands.close
        @acks.close
        SpecswarmWorker.redirect_output(@capture)
        command_r.each_line do |line|
          File.truncate(@capture, 0)
          ack_w.puts(run_one(JSON.parse(line)))
          ack_w.flush
        end
        exit!(0)
      end
      command_r.close
      ack_w.close
    end

    # Runs one unit in the child: [exit code, nil], or [exit code, signal] if the child died.
    def run(targets)
      @commands.puts(JSON.generate(targets))
      @commands.flush
      line = @acks.gets
      return [Integer(line), nil] if line

      _, status = Process.wait2(@pid)
      stop_pipes
      [status.exitstatus, status.termsig]
    rescue Errno::EPIPE
      _, status = Process.wait2(@pid)
      stop_pipes
      [status.exitstatus, status.termsig]
    end

    def stop
      return unless @pid

      @commands.close
      Process.wait(@pid)
      stop_pipes
    end

    private

    def run_one(targets)
      SpecswarmWorker.run_rspec(targets)
    rescue Exception => e # rubocop:disable Lint/RescueException -- report, then carry on
      warn "#{e.class}: #{e.message}\n#{(e.backtrace || []).join("\n")}"
      99
    ensure
      $stdout.flush
      $stderr.flush
      RSpec.clear_examples
    end

    def stop_pipes
      [@commands, @acks].each { |io| io.close unless io.closed? }
      @pid = nil
    end
  end

  def run_rspec(targets)
    RSpec.configuration.add_formatter(Formatter)
    RSpec::Core::Runner.new(options_for(targets)).run($stderr, $stdout).to_i
  end

  # RSpec's options for one unit: the run's arguments and option files (.rspec, ~/.rspec,
  # SPEC_OPTS), parsed once at boot, with this unit's files. Parsing them again costs ~2 ms per
  # unit, most of a unit's overhead in reset isolation.
  def options_for(targets)
    options = @base_options.dup
    options.instance_variable_set(:@options, @base_options.options.merge(files_or_directories_to_run: targets))
    options
  end

  def parse_base_options(argv)
    @base_options = RSpec::Core::ConfigurationOptions.new(argv)
    # Console formatters from .rspec are specswarm's job; the worker only reports events.
    @base_options.options.delete(:formatters)
    @base_options
  end

  def redirect_output(capture)
    File.write(capture, "")
    $stdout.reopen(capture, "a")
    $stderr.reopen($stdout)
    $stdout.sync = true
    $stderr.sync = true
  end

  def read_capture(capture)
    text = File.binread(capture)
    text = "[... #{text.bytesize - MAX_OUTPUT} bytes cut ...]\n" + text.byteslice(-MAX_OUTPUT, MAX_OUTPUT) if text.bytesize > MAX_OUTPUT
    text.force_encoding(Encoding::UTF_8).scrub
  rescue SystemCallError
    ""
  end

  def main(argv)
    self.events = IO.new(Integer(ENV.fetch("SPECSWARM_RESULT_FD")), "w")
    mode = ENV.fetch("SPECSWARM_MODE", "fork")
    capture = ENV.fetch("SPECSWARM_CAPTURE")
    begin
      boot_time = boot(argv, ENV.fetch("SPECSWARM_PRELOAD", "").split(File::PATH_SEPARATOR))
    rescue Exception => e # rubocop:disable Lint/RescueException -- any boot failure is reported
      emit(t: "boot_failed", error: "#{e.class}: #{e.message}", backtrace: (e.backtrace || []).first(20).join("\n"))
      exit!(3)
    end
    emit(t: "booted", pid: Process.pid, boot_time: boot_time)
    runner = mode == "reset" ? ReusedChild.new(capture) : nil
    $stdin.each_line do |line|
      run_unit(JSON.parse(line), runner, capture)
    end
    runner&.stop
    exit!(0)
  end
end

SpecswarmWorker.main(ARGV)
