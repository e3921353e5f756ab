#!/usr/bin/env ruby
# frozen_string_literal: true
# Runs serial rspec, parallel_rspec -n N, specswarm run --slots N (the default isolation, reset:
# one reused child per slot) and specswarm run --slots N --isolation fork (a fresh child per file)
# side by side on a generated sleep suite (bench/local/gen_suite.rb), interleaved within each
# repetition, checks every run's example count against the suite's manifest, and prints a
# Markdown table of medians.
#
#   ruby bench/local/bench.rb --suite DIR --slots 2,8,16 --reps 3 [--no-serial] [--json OUT]
#
# LB = boot + max(total / N, longest example). With slow slots (manifest "slow_slots", each
# SLOW_FACTOR x slower) the slots' summed speed is N - k + k / factor, so
# LB = boot + max(total / (N - k + k / factor), longest example): the work cannot finish sooner
# even if it could be cut anywhere and every slot were busy to the end.
require "json"
require "fileutils"
require "open3"

SPECSWARM = ENV.fetch("SPECSWARM", File.expand_path("../../build-bench/specswarm", __dir__))
RUNTIME_LOG = "tmp/parallel_runtime_rspec.log"

opts = { slots: [2, 8, 16], reps: 3, serial: true, json: nil, label: nil }
until ARGV.empty?
  case (flag = ARGV.shift)
  when "--suite" then opts[:suite] = File.expand_path(ARGV.shift)
  when "--slots" then opts[:slots] = ARGV.shift.split(",").map { |s| Integer(s) }
  when "--reps" then opts[:reps] = Integer(ARGV.shift)
  when "--no-serial" then opts[:serial] = false
  when "--json" then opts[:json] = File.expand_path(ARGV.shift)
  when "--label" then opts[:label] = ARGV.shift
  else abort("bench.rb: unknown flag #{flag}")
  end
end
abort("bench.rb: --suite DIR is required") unless opts[:suite]
manifest = JSON.parse(File.read(File.join(opts[:suite], "manifest.json")))
expected = manifest.fetch("examples")

require_relative "bench_support"

# Runs cmd in the suite, returns {wall:, examples:, failures:, out:}; aborts on a wrong count.
def timed(cmd, dir, expected, env: {}, log: nil)
  t0 = now
  out, status = Open3.capture2e(env, *cmd, chdir: dir)
  wall = now - t0
  File.write(log, out) if log
  counts = out.scan(/(\d+) examples?, (\d+) failures?/).last
  examples, failures = counts&.map(&:to_i)
  unless status.success? && examples == expected && failures.zero?
    warn out.lines.last(30).join
    abort("bench.rb: #{cmd.join(' ')} in #{dir}: exit #{status.exitstatus}, " \
          "#{examples.inspect} examples (want #{expected}), #{failures.inspect} failures")
  end
  boot = out[/slowest slot took ([\d.]+) seconds to boot/, 1]&.to_f
  { wall: wall, examples: examples, boot: boot, out: out }
end

def parallel_cmd(n, record: false)
  cmd = ["parallel_rspec", "-n", n.to_s]
  # Each process writes its own runtime file (a shared --out is truncated by every process).
  cmd += ["--test-options", "--format progress --format ParallelTests::RSpec::RuntimeLogger --out tmp/prt-$TEST_ENV_NUMBER.log"] if record
  cmd + ["spec"]
end

dir = opts[:suite]
logs = File.join(dir, "logs")
FileUtils.mkdir_p(logs)
slow = manifest.fetch("slow_slots", [])
factor = manifest.fetch("slow_factor", 1.0)

# Fill both histories with a prior run (parallel_tests' log from a run on all slots; when the
# suite has slow slots the log is recorded without them, the best case for static grouping).
warn "[#{File.basename(dir)}] filling histories"
FileUtils.rm_rf([File.join(dir, "tmp"), File.join(dir, ".specswarm")])
record_env = slow.empty? ? {} : { "SPECSWARM_BENCH_NO_SLOW" => "1" }
timed(parallel_cmd(opts[:slots].max, record: true), dir, expected, env: record_env)
files = Dir[File.join(dir, "tmp", "prt-*.log")]
File.write(File.join(dir, RUNTIME_LOG), files.map { |f| File.read(f) }.join)
FileUtils.rm_f(files)
logged = File.read(File.join(dir, RUNTIME_LOG)).lines.size
abort("bench.rb: runtime log has #{logged} lines for #{manifest['files']} files") unless logged == manifest["files"]
SPECSWARM_CMDS = {
  specswarm: ->(n) { [SPECSWARM, "run", "--slots", n.to_s] },
  fork: ->(n) { [SPECSWARM, "run", "--slots", n.to_s, "--isolation", "fork"] },
}.freeze
opts[:slots].each { |n| timed(SPECSWARM_CMDS[:specswarm].call(n), dir, expected) }

runs = Hash.new { |h, k| h[k] = [] }
opts[:reps].times do |rep|
  if opts[:serial]
    r = timed(["rspec"], dir, expected, log: File.join(logs, "serial-#{rep}.log"))
    runs[[:serial, 0]] << r
    warn format("rep %d serial rspec: %.2f s", rep + 1, r[:wall])
  end
  opts[:slots].each do |n|
    # Rotate which tool goes first so slow drift hits all of them.
    order = %i[parallel specswarm fork].rotate(rep + n)
    order.each do |tool|
      cmd = tool == :parallel ? parallel_cmd(n) : SPECSWARM_CMDS.fetch(tool).call(n)
      r = timed(cmd, dir, expected, log: File.join(logs, "#{tool}-#{n}-#{rep}.log"))
      if tool == :parallel && !r[:out].include?("Using recorded test runtime")
        abort("bench.rb: parallel_rspec did not use its runtime log")
      end
      runs[[tool, n]] << r
      warn format("rep %d N=%-2d %-9s %.2f s%s", rep + 1, n, tool, r[:wall], r[:boot] ? format(" (boot %.2f)", r[:boot]) : "")
    end
  end
end

total = manifest.fetch("total")
longest = manifest.fetch("longest_example")
boot = manifest.fetch("boot")
rows = opts[:slots].map do |n|
  k = slow.count { |s| s == "" || s.to_i <= n }
  speed = n - k + k / factor
  lb = boot + [total / speed, longest].max
  par = median(runs[[:parallel, n]].map { |r| r[:wall] })
  sw = median(runs[[:specswarm, n]].map { |r| r[:wall] })
  fk = median(runs[[:fork, n]].map { |r| r[:wall] })
  { n: n, lb: lb, serial: median(runs[[:serial, 0]].map { |r| r[:wall] }), parallel: par, specswarm: sw, fork: fk,
    specswarm_boot: median(runs[[:specswarm, n]].map { |r| r[:boot] }),
    fork_boot: median(runs[[:fork, n]].map { |r| r[:boot] }),
    serial_runs: runs[[:serial, 0]].map { |r| r[:wall].round(2) },
    parallel_runs: runs[[:parallel, n]].map { |r| r[:wall].round(2) },
    specswarm_runs: runs[[:specswarm, n]].map { |r| r[:wall].round(2) },
    fork_runs: runs[[:fork, n]].map { |r| r[:wall].round(2) } }
end

f = ->(x) { x ? format("%.2f", x) : "—" }
puts "| N | LB (s) | serial rspec (s) | parallel_rspec (s) | ×LB | specswarm (reset, default) (s) | ×LB | / parallel | boot (s) | " \
     "specswarm --isolation fork (s) | ×LB | / parallel | boot (s) | runs parallel / reset / fork |"
puts "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
rows.each do |r|
  puts "| #{r[:n]} | #{f[r[:lb]]} | #{f[r[:serial]]} | #{f[r[:parallel]]} | #{f[r[:parallel] / r[:lb]]} | " \
       "#{f[r[:specswarm]]} | **#{f[r[:specswarm] / r[:lb]]}** | #{f[r[:specswarm] / r[:parallel]]} | #{f[r[:specswarm_boot]]} | " \
       "#{f[r[:fork]]} | **#{f[r[:fork] / r[:lb]]}** | #{f[r[:fork] / r[:parallel]]} | #{f[r[:fork_boot]]} | " \
       "#{r[:parallel_runs].join(', ')} / #{r[:specswarm_runs].join(', ')} / #{r[:fork_runs].join(', ')} |"
end
puts "", "serial rspec runs: #{rows.first[:serial_runs].join(', ')}" if opts[:serial]
File.write(opts[:json], JSON.pretty_generate(manifest: manifest, rows: rows)) if opts[:json]
