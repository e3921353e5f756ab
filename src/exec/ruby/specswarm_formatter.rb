# The RSpec formatter inside each specswarm worker: it turns RSpec's notifications into the
# structured events of specswarm_worker.rb. Loaded after the project's Bundler setup.
module SpecswarmWorker
  # A formatter that forwards every example, group and message as a structured event.
  class Formatter
    RSpec::Core::Formatters.register self, :example_group_started, :example_passed,
                                     :example_failed, :example_pending, :message, :dump_summary

    module NoColor
      def self.wrap(text, _code) = text
    end

    def initialize(_output); end

    def example_group_started(notification)
      group = notification.group
      SpecswarmWorker.emit(t: "group", id: group.id, description: group.description.to_s,
                           ctx: context_hooks?(group))
    end

    def example_passed(notification)
      SpecswarmWorker.emit(example_event(notification.example))
    end

    def example_pending(notification)
      event = example_event(notification.example)
      event[:block] = notification.fully_formatted(1, NoColor).sub(/\A\n/, "").chomp.split("\n")
      SpecswarmWorker.emit(event)
    end

    def example_failed(notification)
      event = example_event(notification.example)
      event[:block] = notification.fully_formatted_lines(1, NoColor).drop(1)
      event[:rerun] = rerun_argument(notification.example)
      SpecswarmWorker.emit(event)
    end

    def message(notification)
      text = notification.message.to_s
      # Filters are specswarm's own doing (it passes example ids), not news for the user.
      return if text.start_with?("Run options:")

      SpecswarmWorker.emit(t: "message", text: text)
    end

    def dump_summary(summary)
      SpecswarmWorker.emit(t: "summary", errors_outside: summary.errors_outside_of_examples_count,
                           load_time: summary.load_time)
    end

    private

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

    # The same argument RSpec's "Failed examples:" list shows: file:line, or the id when the
    # line is shared with other examples (shared examples, generated examples).
    def rerun_argument(example)
      location = example.location_rerun_argument
      RSpec.world.all_examples.count { |e| e.location_rerun_argument == location } > 1 ? example.id : location
    rescue StandardError
      example.location
    end

    # before(:all)/after(:all) state is shared by the group's examples, so such a group is never
    # split across slots.
    def context_hooks?(group)
      hooks = group.hooks
      %i[@before_context_hooks @after_context_hooks].any? do |ivar|
        repo = hooks.instance_variable_get(ivar)
        repo && !repo.items_and_filters.empty?
      end
    rescue StandardError
      true
    end
  end
end
