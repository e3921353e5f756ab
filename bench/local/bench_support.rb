# frozen_string_literal: true
# Small helpers shared by bench.rb and rails_bench.rb.

def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

# The median of the non-nil values, or nil when there are none.
def median(values)
  v = values.compact.sort
  return nil if v.empty?
  v.size.odd? ? v[v.size / 2] : (v[v.size / 2 - 1] + v[v.size / 2]) / 2.0
end
