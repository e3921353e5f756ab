#include "test_support.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace specswarm::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "specswarm-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

void WriteFile(const fs::path& path, const std::string& content) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

CommandResult RunCommand(const std::string& command, const std::string& cwd,
                         const std::map<std::string, std::string>& env) {
  TempDir io;
  std::string prefix;
  for (const auto& [key, value] : env) prefix += key + "=" + ShellQuote(value) + " ";
  // The redirections apply to the whole command line, not only its last command.
  const std::string shell = "cd " + ShellQuote(cwd) + " && " + prefix + "exec /bin/sh -c " + ShellQuote(command) + " </dev/null >" +
                            ShellQuote((io.path() / "out").string()) + " 2>" +
                            ShellQuote((io.path() / "err").string());
  int status = std::system(shell.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadFile(io.path() / "out");
  result.err = ReadFile(io.path() / "err");
  return result;
}

void CopyFixture(const std::string& fixtures_root, const std::string& name, const fs::path& dir) {
  fs::copy(fs::path(fixtures_root) / name, dir,
           fs::copy_options::recursive | fs::copy_options::copy_symlinks);
}

}  // namespace specswarm::testing
