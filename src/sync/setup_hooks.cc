#include "sync/setup_hooks.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "base/child_process.h"
#include "sync/git.h"
#include "sync/tree_rules.h"


namespace specswarm::sync {
namespace fs = std::filesystem;
namespace {

constexpr size_t kOutputTail = 16 * 1024;

class ConfigParser {
 public:
  ConfigParser(std::string file) : file_(std::move(file)) {}

  Status Error(const YAML::Node& node, const std::string& what) const {
    return Status::Error(file_ + " line " + std::to_string(node.Mark().line + 1) + ": " + what);
  }

  // YAML allows a key once per mapping but yaml-cpp keeps every copy: a second `per_slot:`
  // would add its hooks to the first's (two hooks of one name), a second `run:` would silently
  // win. Refused, naming the second one's line.
  Status Once(std::set<std::string>* seen, const YAML::Node& key, const std::string& k) const {
    if (!seen->insert(k).second) return Error(key, "key '" + k + "' appears twice");
    return Status::Ok();
  }

  Status ParseHooks(const YAML::Node& list, const std::string& section, std::vector<Hook>* out) {
    if (list.IsNull()) return Status::Ok();
    if (!list.IsSequence()) return Error(list, "setup." + section + " must be a list of hooks");
    std::set<std::string> names;
    for (const YAML::Node& item : list) {
      if (!item.IsMap()) return Error(item, "each hook in setup." + section + " must be a mapping with name and run");
      Hook hook;
      hook.line = item.Mark().line + 1;
      std::set<std::string> keys;
      for (const auto& kv : item) {
        const std::string k = kv.first.as<std::string>();
        if (Status s = Once(&keys, kv.first, k); !s.ok()) return s;
        const YAML::Node& v = kv.second;
        if (k == "name" || k == "run") {
          if (!v.IsScalar()) return Error(v, "'" + k + "' must be a string");
          (k == "name" ? hook.name : hook.run) = v.as<std::string>();
        } else if (k == "key") {
          hook.has_key = true;
          if (v.IsScalar()) {
            hook.key.push_back(v.as<std::string>());
          } else if (v.IsSequence()) {
            for (const YAML::Node& g : v) {
              if (!g.IsScalar()) return Error(g, "'key' must list file globs (strings)");
              hook.key.push_back(g.as<std::string>());
            }
          } else if (!v.IsNull()) {
            return Error(v, "'key' must be a file glob or a list of them");
          }
        } else {
          return Error(kv.first, "unknown key '" + k + "' in a setup hook (known: name, run, key)");
        }
      }
      if (hook.name.empty()) return Error(item, "a setup hook needs a 'name'");
      for (char c : hook.name) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
          return Error(item, "hook name '" + hook.name + "' may only use [A-Za-z0-9._-]");
        }
      }
      if (!names.insert(hook.name).second) return Error(item, "two hooks named '" + hook.name + "' in setup." + section);
      if (hook.run.empty()) return Error(item, "hook '" + hook.name + "' needs a 'run' command");
      out->push_back(std::move(hook));
    }
    return Status::Ok();
  }

 private:
  std::string file_;
};

// Hex SHA-1 of a text, via libgit2 (blob hashing), so no extra crypto dependency.
std::string HashText(const std::string& text) {
  git_oid id;
  git_odb_hash(&id, text.data(), text.size(), GIT_OBJECT_BLOB);
  return ToHex(id);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<SetupConfig> ParseSetupConfig(const std::string& text, const std::set<std::string>& other_top_level_keys,
                                     const std::string& file_name) {
  ConfigParser parser(file_name);
  SetupConfig config;
  try {
    const YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return config;
    if (!root.IsMap()) return parser.Error(root, "the file must be a mapping of settings");
    std::set<std::string> top_keys;
    for (const auto& kv : root) {
      const std::string k = kv.first.as<std::string>();
      if (Status s = parser.Once(&top_keys, kv.first, k); !s.ok()) return s;
      if (k != "setup") {
        if (other_top_level_keys.count(k)) continue;
        std::string known = "setup";
        for (const std::string& o : other_top_level_keys) known += ", " + o;
        return parser.Error(kv.first, "unknown key '" + k + "' (known: " + known + ")");
      }
      const YAML::Node& setup = kv.second;
      if (setup.IsNull()) continue;
      if (!setup.IsMap()) return parser.Error(setup, "'setup' must be a mapping with per_peer and per_slot");
      std::set<std::string> sections;
      for (const auto& section : setup) {
        const std::string name = section.first.as<std::string>();
        if (Status s = parser.Once(&sections, section.first, name); !s.ok()) return s;
        if (name == "per_peer") {
          if (Status s = parser.ParseHooks(section.second, name, &config.per_peer); !s.ok()) return s;
        } else if (name == "per_slot") {
          if (Status s = parser.ParseHooks(section.second, name, &config.per_slot); !s.ok()) return s;
        } else {
          return parser.Error(section.first, "unknown key '" + name + "' in setup (known: per_peer, per_slot)");
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::Error(file_name + " line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return config;
}

Result<SetupConfig> LoadSetupConfig(const std::string& work_dir, const std::set<std::string>& other_top_level_keys) {
  const std::string path = work_dir + "/.specswarm.yml";
  if (!fs::exists(path)) return SetupConfig{};
  return ParseSetupConfig(ReadFile(path), other_top_level_keys, ".specswarm.yml");
}

SetupHooks::SetupHooks(const WorkDir& work_dir, SetupConfig config)
    : work_dir_(work_dir), config_(std::move(config)), stamp_dir_(work_dir.path() + ".hooks") {}

Result<std::vector<HookRun>> SetupHooks::Run(const std::vector<int>& slots, const std::vector<std::string>& env) {
  std::vector<HookRun> runs;
  if (config_.per_peer.empty() && config_.per_slot.empty()) return runs;
  Result<std::vector<TrackedFile>> files = work_dir_.Files();
  if (!files.ok()) return files.status();
  std::error_code ec;
  fs::create_directories(stamp_dir_, ec);
  for (const Hook& hook : config_.per_peer) {
    Result<bool> ran = RunOne(hook, 0, *files, env);
    if (!ran.ok()) return ran.status();
    runs.push_back({hook.name, 0, *ran});
  }
  for (const Hook& hook : config_.per_slot) {
    for (int slot : slots) {
      Result<bool> ran = RunOne(hook, slot, *files, env);
      if (!ran.ok()) return ran.status();
      runs.push_back({hook.name, slot, *ran});
    }
  }
  return runs;
}

Result<bool> SetupHooks::RunOne(const Hook& hook, int slot, const std::vector<TrackedFile>& files,
                                const std::vector<std::string>& env) {
  const std::string stamp = stamp_dir_ + "/" + hook.name + (slot ? ".slot" + std::to_string(slot) : "") + ".key";
  std::string key;
  if (hook.has_key) {
    std::string material = "run " + hook.run + "\nslot " + std::to_string(slot) + "\n";
    for (const TrackedFile& f : files) {  // index order: sorted by path, so the key is stable
      for (const std::string& glob : hook.key) {
        if (GlobMatch(glob, f.path)) {
          material += f.blob + " " + f.path + "\n";
          break;
        }
      }
    }
    key = HashText(material);
    if (ReadFile(stamp) == key) return false;
  }
  std::vector<std::string> hook_env = env;
  if (slot) hook_env.push_back("TEST_ENV_NUMBER=" + TestEnvNumber(slot));
  int code = 0;
  std::string output;
  if (Status s = RunShell(hook.run, work_dir_.path(), hook_env, &code, &output, kOutputTail); !s.ok()) return s;
  if (code != 0) {
    std::error_code ec;
    fs::remove(stamp, ec);
    return Status::Error("setup hook '" + hook.name + "'" + (slot ? " (slot " + std::to_string(slot) + ")" : "") +
                         " failed with exit status " + std::to_string(code) + ": `" + hook.run + "`\n" + output);
  }
  if (hook.has_key) {
    std::ofstream(stamp, std::ios::trunc) << key;
  }
  return true;
}

}  // namespace specswarm::sync
