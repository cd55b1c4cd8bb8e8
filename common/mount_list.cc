#include "common/mount_list.h"

#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"

namespace gantry {
namespace {

// The kernel copies at most one page of mount data.
size_t MountDataLimit() { return static_cast<size_t>(::sysconf(_SC_PAGESIZE)) - 1; }

struct Parsed {
  unsigned long flags = 0;
  bool readonly = false;
  std::vector<std::string> data;
};

// mount(8)-style options split into flags and the filesystem's data.
Parsed ParseOptions(const std::vector<std::string>& options) {
  static const auto* kFlags = new std::map<std::string, std::pair<bool, unsigned long>>{
      {"bind", {true, MS_BIND}},         {"rbind", {true, MS_BIND | MS_REC}},
      {"nosuid", {true, MS_NOSUID}},     {"suid", {false, MS_NOSUID}},
      {"nodev", {true, MS_NODEV}},       {"dev", {false, MS_NODEV}},
      {"noexec", {true, MS_NOEXEC}},     {"exec", {false, MS_NOEXEC}},
      {"relatime", {true, MS_RELATIME}}, {"noatime", {true, MS_NOATIME}},
      {"sync", {true, MS_SYNCHRONOUS}},
  };
  Parsed p;
  for (const std::string& option : options) {
    if (option == "ro" || option == "rw") {
      p.readonly = option == "ro";
      continue;
    }
    auto flag = kFlags->find(option);
    if (flag == kFlags->end()) {
      p.data.push_back(option);
    } else if (flag->second.first) {
      p.flags |= flag->second.second;
    } else {
      p.flags &= ~flag->second.second;
    }
  }
  return p;
}

// The longest directory prefix shared by all paths ("/a/b/" for "/a/b/1/fs"
// and "/a/b/2/fs").
std::string CommonDir(const std::vector<std::string>& paths) {
  std::string prefix = paths.front();
  for (const std::string& p : paths) {
    size_t n = 0;
    while (n < prefix.size() && n < p.size() && prefix[n] == p[n]) ++n;
    prefix.resize(n);
  }
  return prefix.substr(0, prefix.rfind('/') + 1);
}

// Overlay data with every path made relative to their common directory, for
// a mount made from inside that directory.
std::string CompactOverlayData(const std::vector<std::string>& data, std::string* dir) {
  std::vector<std::string> paths;
  for (const std::string& o : data) {
    if (absl::StartsWith(o, "lowerdir=")) {
      for (absl::string_view l : absl::StrSplit(o.substr(9), ':')) paths.emplace_back(l);
    } else if (absl::StartsWith(o, "upperdir=") || absl::StartsWith(o, "workdir=")) {
      paths.push_back(o.substr(o.find('=') + 1));
    }
  }
  *dir = CommonDir(paths);
  std::vector<std::string> out;
  for (const std::string& o : data) {
    const size_t eq = o.find('=');
    const std::string name = eq == std::string::npos ? "" : o.substr(0, eq);
    if (name == "lowerdir") {
      std::vector<std::string> lowers;
      for (absl::string_view l : absl::StrSplit(o.substr(9), ':')) {
        lowers.emplace_back(l.substr(dir->size()));
      }
      out.push_back(absl::StrCat("lowerdir=", absl::StrJoin(lowers, ":")));
    } else if (name == "upperdir" || name == "workdir") {
      out.push_back(absl::StrCat(name, "=", o.substr(eq + 1 + dir->size())));
    } else {
      out.push_back(o);
    }
  }
  return absl::StrJoin(out, ",");
}

// chdir is per process, so the relative mount runs in a forked child; it
// calls only async-signal-safe functions.
absl::Status MountFromDir(const std::string& dir, const std::string& target, unsigned long flags,
                          const std::string& data) {
  const pid_t pid = ::fork();
  if (pid < 0) return LastErrno("fork for overlay mount");
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(errno);
    if (::mount("overlay", target.c_str(), "overlay", flags, data.c_str()) != 0) ::_exit(errno);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return LastErrno("wait for overlay mount");
  }
  if (!WIFEXITED(status)) return absl::InternalError("overlay mount helper died");
  if (WEXITSTATUS(status) != 0) {
    return ErrnoError(WEXITSTATUS(status), absl::StrCat("mount overlay on ", target));
  }
  return absl::OkStatus();
}

absl::Status MountOne(const Mount& m, const std::string& target) {
  const Parsed p = ParseOptions(m.options);
  if (m.type == "bind" || (p.flags & MS_BIND)) {
    if (::mount(m.source.c_str(), target.c_str(), nullptr, p.flags | MS_BIND, nullptr) != 0) {
      return LastErrno(absl::StrCat("bind mount ", m.source, " on ", target));
    }
    if (p.readonly &&
        ::mount(nullptr, target.c_str(), nullptr,
                MS_BIND | MS_REMOUNT | MS_RDONLY | (p.flags & MS_REC), nullptr) != 0) {
      absl::Status err = LastErrno(absl::StrCat("remount ", target, " read-only"));
      ::umount2(target.c_str(), MNT_DETACH);
      return err;
    }
    return absl::OkStatus();
  }
  const std::string data = absl::StrJoin(p.data, ",");
  const unsigned long flags = p.flags | (p.readonly ? MS_RDONLY : 0);
  if (m.type == "overlay" && data.size() > MountDataLimit()) {
    std::string dir;
    const std::string compact = CompactOverlayData(p.data, &dir);
    if (compact.size() > MountDataLimit()) {
      return absl::InvalidArgumentError(
          absl::StrCat("mount overlay on ", target, ": too many layers for one mount"));
    }
    return MountFromDir(dir, target, flags, compact);
  }
  if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), flags, data.c_str()) != 0) {
    return LastErrno(absl::StrCat("mount ", m.type, " on ", target));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MountAll(const std::vector<Mount>& mounts, const std::string& target) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    absl::Status mounted = MountOne(mounts[i], target);
    if (!mounted.ok()) {
      for (size_t j = 0; j < i; ++j) ::umount2(target.c_str(), MNT_DETACH);
      return mounted;
    }
  }
  return absl::OkStatus();
}

}  // namespace gantry
