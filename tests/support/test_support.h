// Helpers shared by the tests: temporary directories that clean up after themselves, copies of
// fixture projects, and running a real command to capture its output and exit code.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace specswarm::testing {

// A fresh directory under the system temp dir, removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `command` with /bin/sh in `cwd`, with `env` added to the environment.
CommandResult RunCommand(const std::string& command, const std::string& cwd,
                         const std::map<std::string, std::string>& env = {});

// Copies a fixture project (tests/<module>/fixtures/<name>) into `dir`.
void CopyFixture(const std::string& fixtures_root, const std::string& name,
                 const std::filesystem::path& dir);

void WriteFile(const std::filesystem::path& path, const std::string& content);
std::string ReadFile(const std::filesystem::path& path);
std::string ShellQuote(const std::string& text);

}  // namespace specswarm::testing
