// `specswarm key new [--name TEAM] [--force]`, `key show`, `key import FILE [--force]`: the swarm
// key (node/swarm_key.h), whose file is membership. `new` makes one for a new swarm (or a
// rotation), `import` installs the file a teammate handed over, `show` prints what identifies it
// without revealing it. Exit 0 on success, 2 on any problem (one line on stderr).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "node/swarm_key.h"

namespace specswarm::cli {
namespace {

struct KeyOptions {
  std::string name = "swarm";
  std::string file;
  bool force = false;
};

int Problem(const std::string& line) {
  std::fprintf(stderr, "specswarm: %s\n", line.c_str());
  return 2;
}

void PrintKey(const node::SwarmKey& key, const std::string& path) {
  std::printf("swarm:       %s\nfingerprint: %s\nfile:        %s\n", key.name.c_str(), key.Fingerprint().c_str(),
              path.c_str());
}

int NewKey(const KeyOptions& o) {
  auto key = node::NewSwarmKey(o.name);
  if (!key.ok()) return Problem(key.status().message() + " (--name)");
  const std::string path = node::DefaultSwarmKeyPath();
  if (auto existing = node::LoadSwarmKey(path); !o.force && (!existing.ok() || *existing)) {
    return Problem("a swarm key is already in " + path +
                   ": pass --force to replace it (a rotation: every member must then import the new file)");
  }
  if (Status s = node::SaveSwarmKey(path, *key, true); !s.ok()) return Problem(s.message());
  PrintKey(*key, path);
  std::printf("\nHand this file to the swarm's members over a private channel; each runs\n"
              "`specswarm key import FILE` and restarts `specswarm join`.\n");
  return 0;
}

int ShowKey() {
  const std::string path = node::DefaultSwarmKeyPath();
  auto key = node::LoadSwarmKey(path);
  if (!key.ok()) return Problem(key.status().message());
  if (!*key) return Problem(node::NoSwarmKeyAdvice(path));
  PrintKey(**key, path);
  return 0;
}

int ImportKey(const KeyOptions& o) {
  std::string text;
  if (o.file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    FILE* in = std::fopen(o.file.c_str(), "rb");
    if (!in) return Problem("cannot read " + o.file + ": " + std::strerror(errno));
    char buffer[4096];
    size_t n = std::fread(buffer, 1, sizeof buffer, in);
    const bool too_large = n == sizeof buffer;
    std::fclose(in);
    if (too_large) return Problem(o.file + " is not a swarm key (too large)");
    text.assign(buffer, n);
  }
  auto key = node::ParseSwarmKey(text);
  if (!key.ok()) return Problem(o.file + " is not a swarm key: " + key.status().message());
  const std::string path = node::DefaultSwarmKeyPath();
  if (Status s = node::SaveSwarmKey(path, *key, o.force); !s.ok()) return Problem(s.message());
  PrintKey(*key, path);
  std::printf("\nRestart `specswarm join` on this machine to use it.\n");
  return 0;
}

}  // namespace

void AddKeyCommand(CLI::App& app, CommandAction* chosen) {
  auto options = std::make_shared<KeyOptions>();
  CLI::App* key = app.add_subcommand("key", "The swarm key: holding it is membership (new, show, import)");
  key->require_subcommand(1);
  CLI::App* make = key->add_subcommand("new", "Make a new swarm key in ~/.config/specswarm/swarm.key (mode 0600)");
  make->add_option("--name", options->name, "The swarm's name, for people (default: swarm)");
  make->add_flag("--force", options->force, "Replace the key already there (rotation)");
  make->callback([chosen, options] { *chosen = [options] { return NewKey(*options); }; });
  CLI::App* show = key->add_subcommand("show", "Print the swarm key's name, fingerprint and file");
  show->callback([chosen] { *chosen = [] { return ShowKey(); }; });
  CLI::App* import = key->add_subcommand("import", "Install a swarm key a teammate handed over");
  import->add_option("file", options->file, "The key file (- reads standard input)")->required();
  import->add_flag("--force", options->force, "Replace a different key already there");
  import->callback([chosen, options] { *chosen = [options] { return ImportKey(*options); }; });
}

}  // namespace specswarm::cli
