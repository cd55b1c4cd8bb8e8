// linux.seccomp compiled with libseccomp. Compiled by the runtime before the
// init is cloned (so a bad profile fails `create` cleanly), loaded by the
// init as its last privileged step.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace ocirun {

class SeccompFilter {
 public:
  // Compiles the config.json "linux.seccomp" object; errors name the field.
  static absl::StatusOr<SeccompFilter> Compile(const nlohmann::json& seccomp);
  SeccompFilter(SeccompFilter&&) noexcept;
  SeccompFilter& operator=(SeccompFilter&&) noexcept;
  ~SeccompFilter();

  // Installs the filter on the calling thread. Returns the notify fd when a
  // rule uses SCMP_ACT_NOTIFY (invalid otherwise): the caller hands it to the
  // runtime, which can still reach listenerPath on the host.
  absl::StatusOr<gantry::UniqueFd> Load() const;

  bool has_notify() const;
  // Sends the notify fd to listenerPath with runc's ContainerProcessState JSON.
  absl::Status SendToListener(int notify_fd, pid_t pid, const nlohmann::json& state) const;

 private:
  SeccompFilter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ocirun
