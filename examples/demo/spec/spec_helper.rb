# The demo suite for `make demo`: a small shop whose specs take a few seconds in all, so
# specswarm's slots have something to share. Booting costs a little, as real apps do.
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "shop"
sleep 0.3 # stands in for loading a framework

RSpec.configure do |config|
  config.expect_with(:rspec) { |c| c.syntax = :expect }
end
