// Fuzz target: a DNS-SD TXT record as it comes off the LAN (any host may publish one), through
// DecodeTxtWire and ParseTxt (src/discovery/txt_record.h). An advert ParseTxt accepts must be
// valid and survive EncodeTxt -> ParseTxt unchanged.
#include "discovery/txt_record.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace specswarm::discovery;
  specswarm::Result<std::vector<std::string>> items = DecodeTxtWire(specswarm::fuzz::Text(data, size));
  if (!items.ok()) return 0;
  specswarm::Result<std::vector<std::string>> rewired = DecodeTxtWire(EncodeTxtWire(*items));
  FUZZ_CHECK(rewired.ok() && *rewired == *items);
  specswarm::Result<NodeAdvert> advert = ParseTxt(*items);
  if (!advert.ok()) return 0;
  FUZZ_CHECK(Validate(*advert).ok());
  specswarm::Result<NodeAdvert> again = ParseTxt(EncodeTxt(*advert));
  FUZZ_CHECK(again.ok() && *again == *advert);
  return 0;
}
