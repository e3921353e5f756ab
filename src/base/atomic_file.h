// WriteFileAtomically: the one way specswarm replaces a file it keeps (timings, the peer cache,
// reports, the node id, an object store's lists). It writes a temporary file beside the target
// (named after the process, so two writers never share one) and renames it over the target, so
// a reader, a crash or a concurrent writer never sees half a file. Missing parent folders are
// created. The error says which file and why, in one line.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "base/status.h"

namespace specswarm {

inline Status WriteFileAtomically(const std::string& path, const std::string& content) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  const std::string temp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) {
      out.close();
      fs::remove(temp, ec);
      return Status::Error("cannot write " + path + " (check the folder exists and is writable, and the disk is not full)");
    }
  }
  fs::rename(temp, target, ec);
  if (ec) {
    fs::remove(temp, ec);
    return Status::Error("cannot replace " + path + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace specswarm
