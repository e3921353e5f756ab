# specswarm's Ruby worker: boots the project and loads every spec file of the run once, as
# `rspec` does before it runs any example, then runs the units (a spec file, or some of its
# example groups) it is handed, in a child forked from that loaded state.
#
# Driven by specswarm's C++ RubyWorker (src/exec/ruby_worker.cc); not meant to be run by hand.
# It lives in a bin/ folder on purpose: RSpec's default backtrace filter drops frames under bin/
# (as it drops those of its own exe/rspec), so this file never shows in a user's backtraces.
#
#   fd COMMAND_FD  one command per line, fields separated by tabs, each field %-escaped:
#                    unit <id> <file> <ids, \x1f-separated> <except ids, \x1f-separated>
#                    persist <path of a results file: example id, status, run time per line>
#                  end of input means "finish": after(:suite) hooks run and the worker exits
#   fd RESULT_FD   one JSON object per line (EVENTS below)
#   ARGV           the RSpec arguments of the run (`specswarm run -- ARGS`), then its targets
#   stdin          the caller's, as under `rspec`
# Environment, read and removed at once so no spec or process it starts sees it:
#   SPECSWARM_RESULT_FD, SPECSWARM_COMMAND_FD, SPECSWARM_CAPTURE (a file for the children's
#   stdout+stderr), SPECSWARM_MODE (reset | fork), SPECSWARM_PRELOAD (":"-separated files to
#   require before the spec files), SPECSWARM_TARGETS (a file naming the run's targets, one a
#   line), SPECSWARM_BUNDLER (0: no bundler/setup).
#
# Isolation. reset: one child runs unit after unit in one RSpec run (before(:suite) once, the
# examples of each unit, after(:suite) at the end), exactly like one `rspec` process that loaded
# all the files; a child that dies is replaced by a fresh fork of the loaded parent. fork: every
# unit runs in a fresh child of the loaded parent, suite hooks around it.
#
# EVENTS: booted, boot_failed, child, started, group, example, message, finished, child_exited,
# suite_done, persisted. Nothing of this file is a constant, a global or an at_exit hook of the
# process that runs the specs.

-> do
  worker = Module.new
  worker.module_eval do
    module_function

    # No constants here: a constant defined in this block would land on Object.
    def max_output = 64 * 1024
    def escapes
      @escapes ||= (0..31).to_h { |c| [c.chr, format("\\u%04x", c)] }
                          .merge('"' => '\"', "\\" => "\\\\", "\n" => "\\n", "\r" => "\\r", "\t" => "\\t")
    end

    def setup(env)
      @events = IO.new(Integer(env.delete("SPECSWARM_RESULT_FD")), "w")
      @events.sync = true
      @events.close_on_exec = true
      @commands = IO.new(Integer(env.delete("SPECSWARM_COMMAND_FD")), "r")
      @commands.close_on_exec = true
      @capture = env.delete("SPECSWARM_CAPTURE")
      @mode = env.delete("SPECSWARM_MODE") || "reset"
      @preload = (env.delete("SPECSWARM_PRELOAD") || "").split(File::PATH_SEPARATOR)
      targets = env.delete("SPECSWARM_TARGETS")
      @targets = targets ? File.readlines(targets, chomp: true).reject(&:empty?) : []
      @bundler = env.delete("SPECSWARM_BUNDLER") != "0"
      @sink = []          # where RSpec's messages go while no unit is running
      @groups = {}        # absolute spec file path => the top-level groups its loading defined
      @load_errors = {}   # absolute spec file path => [messages, count]
      @helper_error = Class.new(StandardError)
      @bundler_error = Class.new(StandardError)
    end

    # JSON by hand: the `json` library is not loaded into a process that runs specs unless the
    # project loads it. Strings that are not valid UTF-8 (binary bytes in a message) are
    # scrubbed rather than allowed to break the channel.
    def encode(value)
      case value
      when nil then "null"
      when true, false, Integer then value.to_s
      when Float then value.finite? ? value.to_s : "null"
      when Array then "[#{value.map { |v| encode(v) }.join(',')}]"
      when Hash then "{#{value.map { |k, v| "#{k.is_a?(Symbol) ? "\"#{k}\"" : encode(k.to_s)}:#{encode(v)}" }.join(',')}}"
      else encode_string(value.to_s)
      end
    end

    def encode_string(text)
      text = utf8(text)
      text = text.gsub(/["\\\x00-\x1f]/, escapes) if text.match?(/["\\\x00-\x1f]/)
      "\"#{text}\""
    end

    def utf8(text)
      return text if text.encoding == Encoding::UTF_8 && text.valid_encoding?
      if text.encoding == Encoding::BINARY || text.encoding == Encoding::UTF_8
        return text.dup.force_encoding(Encoding::UTF_8).scrub("\uFFFD")
      end

      text.encode(Encoding::UTF_8, invalid: :replace, undef: :replace)
    rescue EncodingError
      text.dup.force_encoding(Encoding::UTF_8).scrub("\uFFFD")
    end

    def emit(event)
      @events.write("#{encode(event)}\n")
    rescue Errno::EPIPE, IOError
      exit!(70) # specswarm is gone: nobody is left to report to
    end

    def unescape(field) = field.gsub(/%(\h\h)/) { Regexp.last_match(1).hex.chr }

    def next_command
      line = @commands.gets or return nil
      fields = line.chomp.split("\t", -1).map { |f| unescape(f) }
      case fields[0]
      when "unit"
        { unit: Integer(fields[1]), file: fields[2], ids: list(fields[3]), except: list(fields[4]) }
      when "persist" then { persist: fields[1] }
      else raise ArgumentError, "unknown command #{fields[0].inspect}"
      end
    end

    # Yields each unit command until the input ends; a persist command is answered on the way.
    def each_unit_command
      while (command = next_command)
        command[:persist] ? persist(command[:persist]) : yield(command)
      end
    end

    def list(field) = field.to_s.empty? ? [] : field.split("\x1f")

    def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

    # ---------------------------------------------------------------- boot (the parent)

    def boot(argv)
      started = now
      load_bundler if @bundler && (ENV["BUNDLE_GEMFILE"] || File.exist?("Gemfile"))
      # `-I DIR` reaches the load path before RSpec itself is required, as `ruby -I DIR
      # exe/rspec` puts it: a project that is RSpec (or vendors it) runs its own RSpec.
      $LOAD_PATH.unshift(*load_path_args(argv).map { |dir| File.expand_path(dir) })
      require "rspec/core"
      RSpec::Core::Runner.disable_autorun!
      $PROGRAM_NAME = rspec_executable
      @config = RSpec.configuration
      @world = RSpec.world
      options = RSpec::Core::ConfigurationOptions.new(argv + @targets)
      # Console output is specswarm's job; the worker reports events only.
      options.options.delete(:formatters)
      @config.add_formatter(formatter_class)
      # What `rspec` does before it loads anything: its ^C handler, then the options (.rspec's
      # --require spec_helper among them).
      RSpec::Core::Runner.trap_interrupt
      RSpec::Core::Runner.new(options).configure($stderr, $stdout)
      raise @helper_error, "an error occurred while loading the project's helpers" if @world.wants_to_quit

      @preload.each { |path| require File.expand_path(path) }
      load_spec_files
      @world.announce_filters
      @boot_messages = @sink
      warm_up if @mode == "fork"
      # Children start from a swept heap instead of each collecting the load's garbage.
      GC.start
      now - started
    end

    # The specs see the program `rspec` would be: RSpec itself decides things by it (with no
    # file arguments it runs spec/ only when the command is `rspec`).
    def rspec_executable
      core = $LOADED_FEATURES.find { |f| f.end_with?("/rspec/core.rb") }
      exe = core && File.expand_path("../../exe/rspec", File.dirname(core))
      exe && File.exist?(exe) ? exe : "rspec"
    end

    def load_path_args(argv)
      dirs = []
      argv.each_with_index do |arg, i|
        case arg
        when "-I", "--libs" then dirs.concat(argv[i + 1].to_s.split(File::PATH_SEPARATOR))
        when /\A-I(.+)/, /\A--libs=(.+)/ then dirs.concat(Regexp.last_match(1).split(File::PATH_SEPARATOR))
        end
      end
      dirs.reject(&:empty?)
    end

    def load_bundler
      require "bundler/setup"
    rescue LoadError, StandardError => e
      raise if e.is_a?(LoadError) && !e.message.include?("bundler")
      raise @bundler_error, "#{e.class}: #{e.message}"
    end

    # rspec's Configuration#load_spec_files, file by file, so that each file's groups and its
    # load error are known: a file that does not load costs that file, not the whole run.
    def load_spec_files
      @world.registered_example_group_files.each { |f| @config.loaded_spec_files << f }
      @config.files_to_run.uniq.each do |f|
        file = File.expand_path(f)
        first = @world.example_groups.size
        boot_sink = @sink
        @sink = []
        errors = errors_outside
        @config.send(:load_file_handling_errors, :load, file)
        @config.loaded_spec_files << file
        @groups[file] = @world.example_groups[first..] || []
        count = errors_outside - errors
        if count.positive?
          @load_errors[file] = [@sink, count]
          @world.wants_to_quit = false
        else
          boot_sink.concat(@sink)
        end
        @sink = boot_sink
      end
      @config.instance_variable_set(:@spec_files_loaded, true)
    end

    def errors_outside = @config.reporter.instance_variable_get(:@non_example_exception_count).to_i

    # Fork isolation: what RSpec and Rails load lazily is loaded once here, so each forked child
    # pays for its examples alone.
    def warm_up
      RSpec::Core::ExampleGroup.ensure_example_groups_are_configured
      require "rspec/core/formatters/base_text_formatter"
      RSpec::Matchers::BuiltIn.constants.each { |n| RSpec::Matchers::BuiltIn.const_get(n) } if defined?(RSpec::Matchers::BuiltIn)
      if defined?(Rails) && Rails.respond_to?(:application) && Rails.application
        Rails.application.eager_load!
        ActiveRecord::Base.connection_handler.clear_all_connections! if defined?(ActiveRecord::Base)
      end
    rescue StandardError, NotImplementedError, LoadError => e
      warn "specswarm: warm-up skipped (#{e.class}: #{e.message})"
    end

    # ---------------------------------------------------------------- serving units

    def serve
      @mode == "fork" ? serve_forking : serve_reusing
    end

    # reset: one child at a time runs units until the input ends; a child that dies (a crash, a
    # timeout's kill) is reported and replaced by a fresh fork of this pristine parent.
    def serve_reusing
      loop do
        exit!(0) if run_child { |done| reusing_child(done) }
      end
    end

    # Forks a child that runs the block, waits for it, and reports it if it ended without
    # saying it was done (a crash, exit!, a timeout's kill). Returns whether it was done.
    def run_child
      done_r, done_w = IO.pipe
      pid = fork do
        done_r.close
        yield done_w
      end
      done_w.close
      pid = own_group(pid)
      _, status = Process.wait2(pid)
      # Non-blocking: a daemon the child forked may still hold the write end.
      done = done_r.read_nonblock(8, exception: false).is_a?(String)
      done_r.close
      emit_child_exited(pid, status) unless done
      done
    end

    def reusing_child(done_w)
      child_setup
      buffered = @sink = []
      errors_before = errors_outside
      run_suite do
        before_suite_errors = errors_outside - errors_before
        each_unit_command do |command|
          run_unit(command, buffered, before_suite_errors)
          emit_finished(command[:unit], @unit_errors)
          buffered = []
          before_suite_errors = 0
        end
        @sink = []
        @suite_errors_start = errors_outside
      end
      emit(t: "suite_done", errors_outside: errors_outside - @suite_errors_start, messages: @sink,
           output: take_output)
      done_w.write("done")
      done_w.close
      exit(0) # at_exit hooks run here, once per child, as at the end of an rspec process
    end

    # fork: a fresh child for every unit, suite hooks around it.
    def serve_forking
      each_unit_command { |command| run_child { |done| forked_child(command, done) } }
      exit!(0)
    end

    def forked_child(command, done_w)
      child_setup
      buffered = @sink = []
      errors_before = errors_outside
      run_suite do
        run_unit(command, buffered, errors_outside - errors_before)
        @sink = nil
        @suite_errors_start = errors_outside
      end
      emit_finished(command[:unit], @unit_errors + errors_outside - @suite_errors_start)
      done_w.write("done")
      done_w.close
      exit(0)
    end

    def own_group(pid)
      Process.setpgid(pid, pid)
      pid
    rescue SystemCallError
      pid
    end

    def emit_child_exited(pid, status)
      emit(t: "child_exited", pid: pid, exit: status.exitstatus, signal: status.termsig, output: take_output)
    end

    def emit_finished(unit, errors)
      emit(t: "finished", unit: unit, errors_outside: errors, output: take_output)
    end

    # A child runs in its own process group, so a timeout or the end of the run takes it and
    # everything its specs started.
    def child_setup
      Process.setpgid(0, 0)
      emit(t: "child", pid: Process.pid)
      File.write(@capture, "")
      $stdout.reopen(@capture, "a")
      $stderr.reopen($stdout)
      $stdout.sync = true
      $stderr.sync = true
    end

    # One RSpec run in this child: the reporter's start and finish and the suite hooks around
    # whatever the block runs.
    def run_suite(&block)
      @config.reporter.report(@world.example_count(@world.example_groups)) do
        @config.with_suite_hooks(&block)
      end
    end

    def run_unit(command, buffered, suite_errors)
      file = File.expand_path(command[:file])
      emit(t: "started", unit: command[:unit], pid: Process.pid)
      @sink = nil
      buffered.each { |text| emit(t: "message", text: text) }
      errors = errors_outside
      load_messages, load_count = @load_errors[file]
      load_messages&.each { |text| emit(t: "message", text: text) }
      groups = @groups.fetch(file, [])
      restrict(groups, command[:ids], command[:except])
      @config.ordering_registry.fetch(:global).order(groups).each { |group| group.run(@config.reporter) }
      @unit_errors = errors_outside - errors + suite_errors + load_count.to_i
      $stdout.flush
      $stderr.flush
    end

    # A unit that is part of a file runs only the examples under its ids (or, for the piece
    # that takes the rest, those under none of the other pieces' ids), on top of whatever the
    # run's own filters left. Ids that are not RSpec ids (file:line targets) were applied by
    # RSpec's location filters at boot.
    def restrict(groups, ids, except)
      only = scoped(ids)
      skip = scoped(except)
      return if only.empty? && skip.empty?

      @original_examples ||= {}
      groups.each do |top|
        top.descendants.each do |group|
          all = (@original_examples[group] ||= @world.filtered_examples[group])
          kept = all.select do |e|
            sid = e.metadata[:scoped_id].to_s
            (only.empty? || only.any? { |s| under?(sid, s) }) && skip.none? { |s| under?(sid, s) }
          end
          @world.filtered_examples[group] = kept
          group.remove_instance_variable(:@descendant_filtered_examples) if group.instance_variable_defined?(:@descendant_filtered_examples)
        end
      end
    end

    def scoped(ids) = ids.filter_map { |id| id[/\[([\d:]+)\]\z/, 1] }
    def under?(sid, scope) = sid == scope || sid.start_with?("#{scope}:")

    def take_output
      text = File.binread(@capture)
      File.truncate(@capture, 0)
      text = "[... #{text.bytesize - max_output} bytes cut ...]\n" + text.byteslice(-max_output, max_output) if text.bytesize > max_output
      text
    rescue SystemCallError
      ""
    end

    # The run's example statuses, written once at its end with RSpec's own persister (merged
    # with earlier runs the way `rspec` merges them), so --only-failures works afterwards.
    def persist(results_file)
      path = @config.example_status_persistence_file_path
      return emit(t: "persisted", error: nil) if path.nil? || @config.dry_run?

      result = Struct.new(:status, :run_time)
      example = Struct.new(:id, :execution_result)
      known = {}
      File.foreach(results_file, chomp: true) do |line|
        id, status, run_time = line.split("\t")
        known[id] = result.new(status.to_sym, Float(run_time))
      end
      examples = @world.all_examples.map { |e| example.new(e.id, known.fetch(e.id) { result.new(nil, nil) }) }
      RSpec::Core::ExampleStatusPersister.persist(examples, path)
      emit(t: "persisted", error: nil)
    rescue StandardError => e
      emit(t: "persisted", error: "could not write example statuses to #{path}: #{e.class}: #{e.message}")
    end

    # ---------------------------------------------------------------- results

    def formatter_class
      w = self
      Class.new do
        RSpec::Core::Formatters.register self, :example_group_started, :example_passed,
                                         :example_failed, :example_pending, :message
        define_method(:initialize) { |_output| }
        define_method(:example_group_started) do |n|
          w.emit(t: "group", id: n.group.id, description: n.group.description.to_s, ctx: w.context_hooks?(n.group))
        end
        define_method(:example_passed) { |n| w.emit(w.example_event(n.example)) }
        define_method(:example_pending) do |n|
          w.emit(w.example_event(n.example).merge(block: n.fully_formatted(1, w.no_color).sub(/\A\n/, "").chomp.split("\n")))
        end
        define_method(:example_failed) do |n|
          w.emit(w.example_event(n.example).merge(block: n.fully_formatted_lines(1, w.no_color).drop(1),
                                                  rerun: w.rerun_argument(n.example)))
        end
        define_method(:message) { |n| w.message(n.message.to_s) }
      end
    end

    def message(text)
      @sink ? @sink << text : emit(t: "message", text: text)
    end

    def no_color
      @no_color ||= Module.new { def self.wrap(text, _code) = text }
    end

    def example_event(example)
      result = example.execution_result
      event = {
        t: "example", id: example.id, description: example.description,
        full_description: example.full_description, status: result.status.to_s,
        file_path: example.metadata[:file_path], line_number: example.metadata[:line_number],
        run_time: result.run_time, pending_message: result.pending_message
      }
      if (e = example.exception)
        event[:exception] = { class: e.class.name, message: e.message.to_s, backtrace: e.backtrace || [] }
      end
      event
    end

    # What RSpec's "Failed examples:" list shows: file:line, or the id when the line is shared.
    def rerun_argument(example)
      location = example.location_rerun_argument
      siblings = @groups.fetch(File.expand_path(example.metadata[:file_path]), []).flat_map(&:descendants).flat_map(&:examples)
      siblings.count { |e| e.location_rerun_argument == location } > 1 ? example.id : location
    rescue StandardError
      example.location
    end

    # before(:all)/after(:all) state is shared by a group's examples: such a group is never split.
    def context_hooks?(group)
      %i[@before_context_hooks @after_context_hooks].any? do |ivar|
        repo = group.hooks.instance_variable_get(ivar)
        repo && !repo.items_and_filters.empty?
      end
    rescue StandardError
      true
    end

    # ---------------------------------------------------------------- main

    def main(argv)
      setup(ENV)
      begin
        boot_time = boot(argv)
      rescue Exception => e # rubocop:disable Lint/RescueException -- any boot failure is reported
        kind = e.is_a?(@bundler_error) ? "bundler" : "error"
        text = e.is_a?(@helper_error) ? @sink.join("\n") : "#{e.class}: #{e.message}"
        emit(t: "boot_failed", kind: kind, error: text, backtrace: (e.backtrace || []).first(20).join("\n"))
        exit!(3)
      end
      emit(t: "booted", pid: Process.pid, boot_time: boot_time, messages: @boot_messages,
           status_path: @config.example_status_persistence_file_path&.to_s)
      @sink = []
      serve
    end
  end
  worker.main(ARGV.dup)
end.call
