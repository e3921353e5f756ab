// Fuzz target: a ZeroMQ frame from the network through node::Decode (src/node/protocol.h).
// Decode must never crash, throw or trip a sanitizer; and what it accepts must encode to bytes
// that decode again to the same encoding, so two nodes never disagree about a message.
#include "fuzz_check.h"
#include "node/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace specswarm::node;
  specswarm::Result<Message> message = Decode(specswarm::fuzz::Text(data, size));
  if (!message.ok()) return 0;
  const std::string encoded = Encode(*message);
  specswarm::Result<Message> again = Decode(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->index() == message->index());
  FUZZ_CHECK(Encode(*again) == encoded);
  return 0;
}
