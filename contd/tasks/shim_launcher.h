// Starting a contd-shim and calling it. The shim is a daemon of its own:
// double-forked into a new session, so it is nobody's child in contd's tree
// and lives on when contd exits or is killed.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ttrpc.h"
#include "google/protobuf/message_lite.h"

namespace gantry::contd {

struct ShimLaunch {
  std::string shim_binary;     // contd-shim
  std::string runtime_binary;  // ocirun or any runc-compatible runtime
  std::string runtime_root;    // the runtime's --root, one per namespace
  std::string ns;
  std::string id;
  std::string bundle;
  std::string socket_path;
};

// Starts the shim and returns once it serves on its socket (or reports why
// it could not). Its own log goes to <bundle>/shim.log.
absl::Status LaunchShim(const ShimLaunch& launch);

// Calls one method of the shim's Task service on a fresh connection, so that
// calls from several threads (and long Waits) never queue behind each other.
absl::Status CallShim(const std::string& socket_path, absl::string_view method,
                      const google::protobuf::MessageLite& request,
                      google::protobuf::MessageLite* response,
                      absl::Duration timeout = absl::InfiniteDuration());

}  // namespace gantry::contd
