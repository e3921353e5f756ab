// WriteFileAtomically: the one way specswarm replaces a file it keeps (timings, the peer cache,
// reports, the node id, an object store's lists). It writes a temporary file beside the target
// (named after the process, so two writers never share one) and renames it over the target, so
// a reader, a crash or a concurrent writer never sees half a file. Missing parent folders are
// created. The error says which file and why, in one line.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>
#include <string>

#include "base/status.h"

namespace specswarm {

// `mode`, when given, is the file's exact permissions from its creation on (a secret never sits
// readable in a temporary file); otherwise the umask decides, as for any new file.
inline Status WriteFileAtomically(const std::string& path, const std::string& content,
                                  std::optional<mode_t> mode = std::nullopt) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  const std::string temp = path + ".tmp." + std::to_string(getpid());
  const auto cannot_write = [&] {
    fs::remove(temp, ec);
    return Status::Error("cannot write " + path + " (check the folder exists and is writable, and the disk is not full)");
  };
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode ? *mode : 0666);
  if (fd < 0) return cannot_write();
  bool written = !mode || fchmod(fd, *mode) == 0;
  for (size_t done = 0; written && done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) written = false;
    else done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) written = false;
  if (!written) return cannot_write();
  fs::rename(temp, target, ec);
  if (ec) {
    fs::remove(temp, ec);
    return Status::Error("cannot replace " + path + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace specswarm
