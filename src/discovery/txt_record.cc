#include "discovery/txt_record.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>

namespace specswarm::discovery {
namespace {

constexpr int kMaxSlots = 4096;  // far above any machine; catches garbage, not big hosts
constexpr size_t kMaxIdLength = 64;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

bool IsSwarmFingerprint(std::string_view text) {
  // Five groups of four lowercase hex digits joined by '-': 24 characters.
  if (text.size() != 24) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i % 5 == 4) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

namespace {

std::optional<int> ParseCount(std::string_view text) {
  int value = 0;
  if (text.empty() || text.size() > 6) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

Status Validate(const NodeAdvert& a) {
  if (a.proto <= 0) return Status::Error("proto must be a positive integer");
  if (a.id.empty() || a.id.size() > kMaxIdLength) return Status::Error("id must be 1-64 characters");
  for (char c : a.id)
    if (!IsIdChar(c)) return Status::Error("id may hold only letters, digits, '-' and '_'");
  if (a.ver.empty() || a.ver.size() > 64) return Status::Error("ver must be 1-64 characters");
  if (a.slots < 0 || a.slots > kMaxSlots) return Status::Error("slots must be 0-4096");
  if (a.idle < 0 || a.idle > a.slots) return Status::Error("idle must be between 0 and slots");
  if (!a.key.empty() && !IsSwarmFingerprint(a.key))
    return Status::Error("key must be empty or a swarm fingerprint (xxxx-xxxx-xxxx-xxxx-xxxx, hex)");
  return Status::Ok();
}

std::vector<std::string> EncodeTxt(const NodeAdvert& a) {
  return {"txtvers=" + std::to_string(kTxtVersion),
          "proto=" + std::to_string(a.proto),
          "id=" + a.id,
          "ver=" + a.ver,
          "slots=" + std::to_string(a.slots),
          "idle=" + std::to_string(a.idle),
          "key=" + a.key};
}

Result<NodeAdvert> ParseTxt(const std::vector<std::string>& items) {
  // A value of nullopt marks an item without '=' (RFC 6763 §6.4: a boolean attribute).
  std::map<std::string, std::optional<std::string>, std::less<>> fields;
  for (const std::string& item : items) {
    size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (key.empty()) return Status::Error("TXT item with an empty key");
    // §6.4 also says a repeated key keeps its first value; we refuse the record instead, since
    // two `idle` values mean a broken publisher whose numbers we should not trust.
    if (fields.count(key)) return Status::Error("TXT key '" + key + "' appears twice");
    if (eq == std::string::npos)
      fields[key] = std::nullopt;
    else
      fields[key] = item.substr(eq + 1);
  }
  // None of our keys is a boolean, so a key without '=' counts as missing.
  auto get = [&](const char* key) -> std::optional<std::string> {
    auto it = fields.find(key);
    return it == fields.end() ? std::nullopt : it->second;
  };

  auto txtvers = get("txtvers");
  if (!txtvers) return Status::Error("missing txtvers");
  if (*txtvers != std::to_string(kTxtVersion))
    return Status::Error("unsupported txtvers '" + *txtvers + "' (this build reads 1)");

  NodeAdvert a;
  struct CountField { const char* name; int* out; };
  for (CountField f : {CountField{"proto", &a.proto}, CountField{"slots", &a.slots},
                       CountField{"idle", &a.idle}}) {
    auto text = get(f.name);
    if (!text) return Status::Error(std::string("missing ") + f.name);
    auto value = ParseCount(*text);
    if (!value) return Status::Error(std::string(f.name) + " is not a count: '" + *text + "'");
    *f.out = *value;
  }
  auto id = get("id");
  if (!id) return Status::Error("missing id");
  a.id = *id;
  auto ver = get("ver");
  if (!ver) return Status::Error("missing ver");
  a.ver = *ver;
  auto key = get("key");
  if (!key) return Status::Error("missing key (publish 'key=' when there is none)");
  a.key = *key;

  if (Status s = Validate(a); !s.ok()) return s;
  return a;
}

std::string EncodeTxtWire(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    size_t n = std::min<size_t>(item.size(), 255);  // the length byte caps an item
    out.push_back(static_cast<char>(n));
    out.append(item, 0, n);
  }
  return out;
}

Result<std::vector<std::string>> DecodeTxtWire(std::string_view bytes) {
  std::vector<std::string> items;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t n = static_cast<unsigned char>(bytes[pos++]);
    if (pos + n > bytes.size()) return Status::Error("truncated TXT record");
    // An empty item (a lone zero byte) is how DNS-SD encodes an empty TXT record.
    if (n > 0) items.emplace_back(bytes.substr(pos, n));
    pos += n;
  }
  return items;
}

}  // namespace specswarm::discovery
