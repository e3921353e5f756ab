# Drives specswarm's Ruby worker (src/exec/ruby/bin/specswarm_worker.rb) as RubyWorker does, to
# record the event lines of a real run for the worker_event fuzz seeds (make_corpus.sh): one
# command at a time, the next once the previous unit has ended, then persist, then finish.
#   ruby drive_worker.rb <shim> <events file to append to> <results file> <spec files...>
# Run in the project's directory, with the shim's SPECSWARM_* environment set.
require "json"

shim, events, results, *files = ARGV
File.write(results, "")
ev_r, ev_w = IO.pipe
cmd_r, cmd_w = IO.pipe
env = { "SPECSWARM_RESULT_FD" => "3", "SPECSWARM_COMMAND_FD" => "4" }
pid = spawn(env, "ruby", shim, 3 => ev_w, 4 => cmd_r, out: File::NULL, err: File::NULL)
ev_w.close
cmd_r.close
log = File.open(events, "a")
# Copies event lines until one of `types` arrives (returns its type) or the channel ends.
wait = lambda do |types|
  while (line = ev_r.gets)
    log.write(line)
    type = JSON.parse(line)["t"]
    return type if types.include?(type)
  end
  nil
end
if wait.call(%w[booted boot_failed]) == "booted"
  files.each_with_index do |file, i|
    cmd_w.puts("unit\t#{i + 1}\t#{file}\t\t")
    wait.call(%w[finished child_exited])
  end
  cmd_w.puts("persist\t#{results}")
  wait.call(%w[persisted])
end
cmd_w.close
wait.call([])
Process.wait(pid)
