#include "node/swarm_key.h"

#include <sodium.h>
#include <sys/stat.h>
#include <zmq.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/atomic_file.h"

namespace specswarm::node {
namespace {

constexpr size_t kZ85KeyLength = 40;
constexpr size_t kMaxFileBytes = 4096;  // a key file is ~300 bytes; anything larger is not one

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

Status CheckName(const std::string& name) {
  if (name.empty() || name.size() > 40) return Status::Error("a swarm name must be 1-40 characters");
  for (char c : name)
    if (!IsNameChar(c)) return Status::Error("a swarm name may hold only letters, digits, '.', '_' and '-'");
  return Status::Ok();
}

// The 32 bytes a Z85 key stands for, or nothing when it is not one.
std::optional<std::array<uint8_t, 32>> DecodeZ85Key(const std::string& z85) {
  static constexpr std::string_view kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (z85.size() != kZ85KeyLength) return std::nullopt;
  for (char c : z85)
    if (kAlphabet.find(c) == std::string_view::npos) return std::nullopt;
  std::array<uint8_t, 32> bytes{};
  if (zmq_z85_decode(bytes.data(), z85.c_str()) == nullptr) return std::nullopt;
  return bytes;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::string SwarmKey::Fingerprint() const {
  // BLAKE2b of the public key under a label of its own, so the fingerprint is never the key, nor
  // a hash that means something elsewhere. 80 bits tell an office's swarms apart.
  static constexpr std::string_view kLabel = "specswarm swarm fingerprint v1";
  std::string input(kLabel);
  input += public_z85;
  unsigned char digest[crypto_generichash_BYTES_MIN];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                     nullptr, 0);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 10; ++i) {
    if (i > 0 && i % 2 == 0) out += '-';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string DefaultSwarmKeyPath() {
  if (const char* config = std::getenv("XDG_CONFIG_HOME"); config && *config == '/')
    return std::string(config) + "/specswarm/swarm.key";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.config/specswarm/swarm.key";
}

Result<SwarmKey> NewSwarmKey(const std::string& name) {
  if (Status s = CheckName(name); !s.ok()) return s;
  char public_z85[41] = {};
  char secret_z85[41] = {};
  if (zmq_curve_keypair(public_z85, secret_z85) != 0)
    return Status::Error("this libzmq cannot make CURVE keys (built without libsodium?)");
  return SwarmKey{name, public_z85, secret_z85};
}

std::string FormatSwarmKey(const SwarmKey& key) {
  return "# specswarm swarm key. Holding this file makes a machine a member of the swarm: it can\n"
         "# run code on every member and read the code they run. Share it only with the swarm's\n"
         "# members (they install it with `specswarm key import FILE`); keep it mode 0600.\n"
         "name: " + key.name + "\n"
         "public: " + key.public_z85 + "\n"
         "secret: " + key.secret_z85 + "\n";
}

Result<SwarmKey> ParseSwarmKey(std::string_view text) {
  SwarmKey key;
  bool have_name = false, have_public = false, have_secret = false;
  int line_number = 0;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    ++line_number;
    const std::string where = "line " + std::to_string(line_number) + ": ";
    const std::string trimmed = Trim(line);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    const size_t colon = trimmed.find(':');
    if (colon == std::string::npos) return Status::Error(where + "expected 'name:', 'public:' or 'secret:'");
    const std::string field = Trim(std::string_view(trimmed).substr(0, colon));
    const std::string value = Trim(std::string_view(trimmed).substr(colon + 1));
    bool* seen = field == "name" ? &have_name : field == "public" ? &have_public : field == "secret" ? &have_secret : nullptr;
    if (!seen) return Status::Error(where + "unknown field '" + field + "' (expected name, public or secret)");
    if (*seen) return Status::Error(where + "'" + field + "' appears twice");
    *seen = true;
    if (field == "name") {
      if (Status s = CheckName(value); !s.ok()) return Status::Error(where + s.message());
      key.name = value;
    } else if (!DecodeZ85Key(value)) {
      return Status::Error(where + "the " + field + " key must be 40 Z85 characters");
    } else {
      (field == "public" ? key.public_z85 : key.secret_z85) = value;
    }
  }
  if (!have_public || !have_secret)
    return Status::Error(std::string("no '") + (have_public ? "secret" : "public") + ":' line");
  if (!have_name) key.name = "swarm";
  char derived[41] = {};
  if (zmq_curve_public(derived, key.secret_z85.c_str()) != 0 || key.public_z85 != derived)
    return Status::Error("the secret key does not belong to the public key");
  return key;
}

Result<std::optional<SwarmKey>> LoadSwarmKey(const std::string& path) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<SwarmKey>();
    return Status::Error("cannot read the swarm key " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::Error("the swarm key " + path + " is not a file");
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::Error("the swarm key " + path + " may be read by other users (mode " + mode +
                         "): run `chmod 600 " + path + "`");
  }
  if (st.st_size > static_cast<off_t>(kMaxFileBytes))
    return Status::Error("the swarm key " + path + " is not a swarm key (too large)");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Status::Error("cannot read the swarm key " + path);
  auto key = ParseSwarmKey(text.str());
  if (!key.ok())
    return Status::Error("the swarm key " + path + " is corrupt, " + key.status().message() +
                         " (import a good copy with `specswarm key import FILE --force`)");
  return std::optional<SwarmKey>(*key);
}

Status SaveSwarmKey(const std::string& path, const SwarmKey& key, bool force) {
  auto existing = LoadSwarmKey(path);
  if (existing.ok() && existing.value() && *existing.value() == key) return Status::Ok();
  if (!force && !existing.ok()) return Status::Error(existing.status().message() + "; pass --force to replace it");
  if (!force && existing.value())
    return Status::Error("a different swarm key is already in " + path +
                         " (pass --force to replace it; members with the old key are then excluded)");
  std::error_code ec;
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) {
    std::filesystem::create_directories(folder, ec);
    if (!ec) chmod(folder.c_str(), 0700);
  }
  return WriteFileAtomically(path, FormatSwarmKey(key), 0600);
}

std::string NoSwarmKeyAdvice(const std::string& path) {
  return "no swarm key in " + path +
         ": make one with `specswarm key new --name TEAM` or install a teammate's with `specswarm key import FILE`";
}

}  // namespace specswarm::node
