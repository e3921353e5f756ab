#include "node/spec_files.h"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <functional>

#include "base/atomic_file.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>

#include "node/timing_history.h"

namespace specswarm::node {
namespace fs = std::filesystem;
namespace {

bool IsSpecFile(const fs::path& path) {
  const std::string name = path.filename().string();
  return name.size() > 8 && name.compare(name.size() - 8, 8, "_spec.rb") == 0;
}

// "spec/a_spec.rb:12:30" or "spec/a_spec.rb[1:2]" -> {"spec/a_spec.rb", the whole argument}.
std::pair<std::string, std::string> SplitFilter(const std::string& arg) {
  static const std::regex kFiltered(R"(^(.*?\.rb)((:\d+)+|\[[\d:,]+\])$)");
  std::smatch m;
  if (std::regex_match(arg, m, kFiltered)) return {m[1].str(), arg};
  return {arg, ""};
}

std::string Relative(const fs::path& path, const fs::path& root) {
  std::string rel = fs::path(path).lexically_normal().lexically_relative(root).generic_string();
  return rel;
}

}  // namespace

Status CheckRubyProject(const std::string& project_dir) {
  std::error_code ec;
  if (!fs::is_directory(project_dir, ec)) {
    return Status::Error(project_dir + " is not a directory: run specswarm from your project's root");
  }
  const fs::path root(project_dir);
  for (const char* marker : {"spec", ".rspec", "Gemfile"}) {
    if (fs::exists(root / marker, ec)) return Status::Ok();
  }
  return Status::Error(fs::absolute(root).string() +
                       " is not a Ruby project with RSpec specs (no spec/ folder, .rspec or "
                       "Gemfile): run specswarm from your project's root");
}

Result<std::vector<SpecFile>> FindSpecFiles(const std::string& project_dir,
                                            const std::vector<std::string>& paths) {
  const fs::path root = fs::absolute(project_dir).lexically_normal();
  std::map<std::string, std::vector<std::string>> found;  // file -> filters ("" = whole file)
  auto add_tree = [&](const fs::path& dir) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && IsSpecFile(it->path())) found[Relative(it->path(), root)].push_back("");
    }
  };

  std::vector<std::string> wanted = paths;
  if (wanted.empty()) {
    if (!fs::is_directory(root / "spec")) {
      return Status::Error("no spec/ folder in " + root.string() +
                           ": run specswarm from your project's root, or name the spec files");
    }
    wanted.push_back("spec");
  }
  for (const auto& arg : wanted) {
    auto [path_text, filter] = SplitFilter(arg);
    fs::path path = fs::path(path_text).is_absolute() ? fs::path(path_text) : root / path_text;
    path = path.lexically_normal();
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      return Status::Error(arg + " does not exist (paths are relative to " + root.string() + ")");
    }
    std::string rel = Relative(path, root);
    if (rel.empty() || rel.rfind("..", 0) == 0) {
      return Status::Error(arg + " is outside the project " + root.string());
    }
    if (fs::is_directory(path, ec)) {
      add_tree(path);
    } else if (filter.empty()) {
      found[rel].push_back("");
    } else {
      // RSpec reads the filter itself, as the user wrote it.
      found[rel].push_back(filter);
    }
  }
  if (found.empty()) {
    return Status::Error("no spec files (*_spec.rb) found in " +
                         (paths.empty() ? std::string("spec/") : paths.front()) +
                         ": name the spec files or folders to run");
  }
  std::vector<SpecFile> files;
  for (auto& [rel, filters] : found) {
    SpecFile file;
    file.path = rel;
    std::error_code ec;
    file.size = fs::file_size(root / rel, ec);
    file.content_hash = ContentHash((root / rel).string());
    // A whole-file request wins over line filters of the same file.
    if (std::find(filters.begin(), filters.end(), "") == filters.end()) file.targets = filters;
    files.push_back(std::move(file));
  }
  return files;
}

Status WriteTargetsFile(const std::string& path, const std::vector<std::string>& targets) {
  std::string content;
  for (const auto& target : targets) content += target + "\n";
  return WriteFileAtomically(path, content);
}

std::string ProjectRubyVersion(const std::string& project_dir) {
  std::ifstream in(project_dir + "/.ruby-version");
  std::string version;
  std::getline(in, version);
  while (!version.empty() && std::isspace(static_cast<unsigned char>(version.back()))) version.pop_back();
  while (!version.empty() && std::isspace(static_cast<unsigned char>(version.front()))) version.erase(0, 1);
  if (version.rfind("ruby-", 0) == 0) version = version.substr(5);
  return version;
}

std::string RepoKey(const std::string& repo_dir) {
  std::string name = std::filesystem::path(repo_dir).filename().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  }
  if (name.empty() || name[0] == '.') name = "repo" + name;
  name = name.substr(0, 60);
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(std::hash<std::string>{}(repo_dir)));
  return name + "-" + hash;
}

}  // namespace specswarm::node
