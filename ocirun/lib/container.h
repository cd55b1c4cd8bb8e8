// The lifecycle verbs of libocirun, one file each (container_<verb>.cc).
// The CLI parses flags into these option structs and prints the results.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "ocirun/lib/spec.h"
#include "ocirun/lib/state.h"

namespace ocirun {

struct GlobalOptions {
  std::string root = "/run/ocirun";
  bool systemd_cgroup = false;
  bool rootless = false;
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  // A connected socket used instead of --console-socket when the caller
  // relays the terminal itself (`run` in the foreground); only used when
  // process.terminal is true.
  int console_socket_fd = -1;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
};

struct CreatedContainer {
  pid_t pid = 0;          // the init: a child of the caller until the caller exits
  bool terminal = false;  // a pty master was sent to the console socket
};

// Creates the container and leaves its init blocked before the user's program.
absl::StatusOr<CreatedContainer> CreateContainer(const GlobalOptions& global,
                                                 const CreateOptions& options);

// Lets a created container's init exec the user's program; runs poststart hooks.
absl::Status StartContainer(const GlobalOptions& global, const std::string& id);

absl::Status KillContainer(const GlobalOptions& global, const std::string& id, int signal,
                           bool all);

absl::Status DeleteContainer(const GlobalOptions& global, const std::string& id, bool force);

absl::StatusOr<nlohmann::json> ContainerStateJson(const GlobalOptions& global,
                                                  const std::string& id);

absl::Status PauseContainer(const GlobalOptions& global, const std::string& id);
absl::Status ResumeContainer(const GlobalOptions& global, const std::string& id);
absl::Status UpdateContainer(const GlobalOptions& global, const std::string& id,
                             const Resources& resources);
absl::StatusOr<std::vector<pid_t>> ContainerPids(const GlobalOptions& global,
                                                 const std::string& id);
absl::StatusOr<nlohmann::json> ContainerStats(const GlobalOptions& global, const std::string& id);
absl::StatusOr<uint64_t> ContainerOomKills(const GlobalOptions& global, const std::string& id);

struct ExecOptions {
  std::string id;
  std::string process_file;  // -p: a process.json replacing everything below
  std::vector<std::string> args;
  bool tty = false;
  bool detach = false;
  std::string pid_file;
  std::string console_socket;
  int console_socket_fd = -1;  // as CreateOptions::console_socket_fd
  std::vector<std::string> env;
  std::string cwd;
  std::string user;  // uid[:gid]
  std::vector<std::string> caps;
  bool no_new_privs = false;
  int preserve_fds = 0;
};

// The process `exec` runs: -p's file, or the container's process with the
// command line's changes (as runc builds it).
absl::StatusOr<Process> ExecProcess(const GlobalOptions& global, const ExecOptions& options);
// Runs `process` inside the container's namespaces and cgroup; returns its
// pid (a child of the caller).
absl::StatusOr<pid_t> ExecInContainer(const GlobalOptions& global, const ExecOptions& options,
                                      const Process& process);

struct ListEntry {
  ContainerState state;
  Status status;
};
std::vector<ListEntry> ListContainers(const GlobalOptions& global);

}  // namespace ocirun
