#include "engined/network/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"

namespace gantry::engined::network {
namespace {

// Runs `fn` on a new thread and returns its status once it ended. Namespace
// changes made with unshare() or setns() are per thread, so they die with it.
absl::Status RunOnFreshThread(const std::function<absl::Status()>& fn) {
  absl::Status status;
  std::thread thread([&] { status = fn(); });
  thread.join();
  return status;
}

}  // namespace

absl::Status CreateNetworkNamespace(const std::string& path) {
  const std::string what = absl::StrCat("network namespace ", path);
  GANTRY_RETURN_IF_ERROR(
      Annotate(MakeDirs(std::filesystem::path(path).parent_path().string()), what));
  {
    UniqueFd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!file) return LastErrno(absl::StrCat(what, ": create"));
  }
  absl::Status status = RunOnFreshThread([&]() -> absl::Status {
    if (::unshare(CLONE_NEWNET) != 0) return LastErrno(absl::StrCat(what, ": unshare"));
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return LastErrno(absl::StrCat(what, ": bind mount"));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) ::unlink(path.c_str());
  return status;
}

absl::Status RemoveNetworkNamespace(const std::string& path) {
  const std::string what = absl::StrCat("network namespace ", path);
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return LastErrno(absl::StrCat(what, ": unmount"));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return LastErrno(absl::StrCat(what, ": remove"));
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> OpenNetworkNamespace(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return LastErrno(absl::StrCat("network namespace ", path, ": open"));
  return fd;
}

absl::Status RunInNetworkNamespace(const std::string& path,
                                   const std::function<absl::Status()>& fn) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd ns, OpenNetworkNamespace(path));
  return RunOnFreshThread([&]() -> absl::Status {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      return LastErrno(absl::StrCat("network namespace ", path, ": setns"));
    }
    return fn();
  });
}

absl::StatusOr<UniqueFd> OpenSocketInNamespace(const std::string& path, int domain, int type,
                                               int protocol) {
  UniqueFd socket;
  GANTRY_RETURN_IF_ERROR(RunInNetworkNamespace(path, [&]() -> absl::Status {
    socket.Reset(::socket(domain, type | SOCK_CLOEXEC, protocol));
    if (!socket) return LastErrno(absl::StrCat("network namespace ", path, ": socket"));
    return absl::OkStatus();
  }));
  return socket;
}

absl::StatusOr<ScopedNetworkNamespace> ScopedNetworkNamespace::Create(const std::string& path) {
  GANTRY_RETURN_IF_ERROR(CreateNetworkNamespace(path));
  return ScopedNetworkNamespace(path);
}

ScopedNetworkNamespace& ScopedNetworkNamespace::operator=(ScopedNetworkNamespace&& other) noexcept {
  if (this != &other) {
    (void)Remove();
    path_ = std::exchange(other.path_, "");
  }
  return *this;
}

ScopedNetworkNamespace::~ScopedNetworkNamespace() {
  if (absl::Status status = Remove(); !status.ok()) log::Warning(status.message());
}

absl::Status ScopedNetworkNamespace::Remove() {
  if (path_.empty()) return absl::OkStatus();
  absl::Status status = RemoveNetworkNamespace(path_);
  if (status.ok()) path_.clear();
  return status;
}

}  // namespace gantry::engined::network
