#!/usr/bin/env ruby
# frozen_string_literal: true
# Rails app benchmark: specswarm (preloaded workers) against parallel_rspec and against spawning
# one `rspec` per spec file (sequentially, and N at a time with xargs -P N), interleaved within
# each repetition, every run's example count checked. Prints a Markdown table of medians and the
# per-file overhead that preloading saves.
#
#   ruby bench/local/rails_bench.rb --app DIR [--slots 2,4] [--reps 3] [--no-baselines]
#
# --no-baselines skips serial rspec and one rspec per file (sequential and xargs -P N): they are
# references for the per-file boot cost, not part of the specswarm-vs-parallel_tests comparison,
# and take ~80 % of this bench's time.
require "json"
require "fileutils"
require "open3"

SPECSWARM = ENV.fetch("SPECSWARM", File.expand_path("../../build-bench/specswarm", __dir__))

opts = { slots: [2, 4], reps: 3, baselines: true }
until ARGV.empty?
  case (flag = ARGV.shift)
  when "--app" then opts[:app] = File.expand_path(ARGV.shift)
  when "--slots" then opts[:slots] = ARGV.shift.split(",").map { |s| Integer(s) }
  when "--reps" then opts[:reps] = Integer(ARGV.shift)
  when "--no-baselines" then opts[:baselines] = false
  else abort("rails_bench.rb: unknown flag #{flag}")
  end
end
dir = opts[:app] or abort("rails_bench.rb: --app DIR is required")
manifest = JSON.parse(File.read(File.join(dir, "manifest.json")))
expected = manifest.fetch("examples")
files = Dir.chdir(dir) { Dir["spec/**/*_spec.rb"].sort }
abort("rails_bench.rb: #{files.size} spec files, manifest says #{manifest['files']}") unless files.size == manifest["files"]

require_relative "bench_support"

# Runs a command (array, or a shell string) in dir; sums every "N examples, M failures" line
# (one per rspec process when each file gets its own), aborts on a wrong count.
def timed(cmd, dir, expected, summed: false)
  t0 = now
  out, status = cmd.is_a?(String) ? Open3.capture2e(cmd, chdir: dir) : Open3.capture2e(*cmd, chdir: dir)
  wall = now - t0
  counts = out.scan(/(\d+) examples?, (\d+) failures?/).map { |e, f| [e.to_i, f.to_i] }
  counts = [counts.last].compact unless summed
  examples = counts.sum(&:first)
  failures = counts.sum(&:last)
  unless status.success? && examples == expected && failures.zero?
    warn out.lines.last(30).join
    abort("rails_bench.rb: #{cmd.inspect}: exit #{status.exitstatus}, #{examples} examples (want #{expected}), #{failures} failures")
  end
  { wall: wall, boot: out[/slowest slot took ([\d.]+) seconds to boot/, 1]&.to_f }
end

list = files.join(" ")
# xargs gives each of its N process slots its own database, as parallel_tests would.
xargs = ->(n) { "printf '%s\\n' #{list} | xargs -P #{n} --process-slot-var=XSLOT -n 1 sh -c 'TEST_ENV_NUMBER=$((XSLOT + 1)) exec rspec \"$1\"' rspec" }
tools = {
  serial: ->(_) { ["rspec"] },
  per_file_seq: ->(_) { "for f in #{list}; do rspec \"$f\" || exit 1; done" },
  per_file_xargs: xargs,
  parallel: ->(n) { ["parallel_rspec", "-n", n.to_s, "spec"] },
  # The default isolation is reset (one forked child per slot runs file after file); fork (a fresh
  # child per file) is the option.
  specswarm: ->(n) { [SPECSWARM, "run", "--slots", n.to_s] },
  specswarm_fork: ->(n) { [SPECSWARM, "run", "--slots", n.to_s, "--isolation", "fork"] },
}
summed = %i[per_file_seq per_file_xargs]

# Fill the databases (every slot's schema) and both runtime histories with prior runs.
warn "[rails] filling databases and histories"
FileUtils.mkdir_p(File.join(dir, "db"))
FileUtils.rm_rf([File.join(dir, "tmp"), File.join(dir, ".specswarm")] + Dir[File.join(dir, "db", "*.sqlite3")])
timed(["rspec"], dir, expected)
n_max = opts[:slots].max
timed(["parallel_rspec", "-n", n_max.to_s, "--test-options",
       "--format progress --format ParallelTests::RSpec::RuntimeLogger --out tmp/prt-$TEST_ENV_NUMBER.log", "spec"], dir, expected)
logs = Dir[File.join(dir, "tmp", "prt-*.log")]
File.write(File.join(dir, "tmp", "parallel_runtime_rspec.log"), logs.map { |f| File.read(f) }.join)
FileUtils.rm_f(logs)
timed(xargs.call(n_max), dir, expected, summed: true) if opts[:baselines]
opts[:slots].each { |n| timed(tools[:specswarm].call(n), dir, expected) }

runs = Hash.new { |h, k| h[k] = [] }
opts[:reps].times do |rep|
  (opts[:baselines] ? %i[serial per_file_seq] : []).each do |tool|
    runs[[tool, 0]] << timed(tools[tool].call(0), dir, expected, summed: summed.include?(tool))
    warn format("rep %d %-16s %.2f s", rep + 1, tool, runs[[tool, 0]].last[:wall])
  end
  opts[:slots].each do |n|
    order = %i[per_file_xargs parallel specswarm specswarm_fork]
    order.delete(:per_file_xargs) unless opts[:baselines]
    order = order.rotate(rep % order.size)
    order.each do |tool|
      runs[[tool, n]] << timed(tools[tool].call(n), dir, expected, summed: summed.include?(tool))
      warn format("rep %d N=%d %-16s %.2f s", rep + 1, n, tool, runs[[tool, n]].last[:wall])
    end
  end
end

med = ->(tool, n) { median(runs[[tool, n]].map { |r| r[:wall] }) }
f = ->(x) { x ? format("%.2f", x) : "—" }
serial = med.call(:serial, 0)
seq = med.call(:per_file_seq, 0)
nf = files.size
puts "#{nf} spec files (#{files.count { |p| p.include?('/models/') }} model, #{files.count { |p| p.include?('/requests/') }} request), #{expected} examples; medians of #{opts[:reps]} runs."
puts
puts "| runner | N | wall (s) | specswarm (reset) / it | runs (s) |"
puts "|---|---|---|---|---|"
if opts[:baselines]
  puts "| `rspec` (one process, serial) | 1 | #{f[serial]} | — | #{runs[[:serial, 0]].map { |r| r[:wall].round(2) }.join(', ')} |"
  puts "| one `rspec` per file, sequential | 1 | #{f[seq]} | — | #{runs[[:per_file_seq, 0]].map { |r| r[:wall].round(2) }.join(', ')} |"
end
opts[:slots].each do |n|
  sw = med.call(:specswarm, n)
  { per_file_xargs: "one `rspec` per file, `xargs -P #{n}`", parallel: "`parallel_rspec -n #{n}`",
    specswarm: "specswarm (reset, the default): `specswarm run --slots #{n}`",
    specswarm_fork: "specswarm --isolation fork: `specswarm run --slots #{n} --isolation fork`" }.each do |tool, label|
    next if runs[[tool, n]].empty?
    m = med.call(tool, n)
    boot = median(runs[[tool, n]].map { |r| r[:boot] })
    puts "| #{label}#{boot ? " (boot #{f[boot]} s)" : ''} | #{n} | #{f[m]} | #{f[sw / m]} | #{runs[[tool, n]].map { |r| r[:wall].round(2) }.join(', ')} |"
  end
end
exit unless opts[:baselines]
puts
puts format("- boot paid by every extra process: (one rspec per file, sequential − serial rspec) / (files − 1) = (%.2f − %.2f) / %d = **%.3f s per file**", seq, serial, nf - 1, (seq - serial) / (nf - 1))
opts[:slots].each do |n|
  x = med.call(:per_file_xargs, n)
  sw = med.call(:specswarm, n)
  puts format("- N=%d: wall saved per file by preloading = (xargs -P %d − specswarm (reset)) / files = (%.2f − %.2f) / %d = **%.3f s per file** (× N slots = %.3f slot-seconds per file)",
              n, n, x, sw, nf, (x - sw) / nf, (x - sw) * n / nf)
end
