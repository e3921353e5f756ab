# The demo suite for `make demo`: a small shop whose specs take about ten seconds one after
# another, so specswarm's slots have something to share. The sleeps stand in for what real
# specs wait on (a database, a browser, an HTTP stub); booting costs a little, as real apps do.
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "shop"
sleep 0.3 # stands in for loading a framework

RSpec.configure do |config|
  config.expect_with(:rspec) { |c| c.syntax = :expect }
end
