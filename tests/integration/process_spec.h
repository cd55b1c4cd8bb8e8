// An OCI process packed as containerd packs it for exec (JSON in an Any),
// for tests that exec through contd or a shim.
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/any.pb.h>
#include <nlohmann/json.hpp>

namespace gantry::testing {

inline google::protobuf::Any ProcessSpec(const std::vector<std::string>& args,
                                         bool terminal = false) {
  nlohmann::json process = {{"args", args},
                            {"cwd", "/"},
                            {"terminal", terminal},
                            {"env", {"PATH=/bin:/usr/bin", "TERM=xterm"}},
                            {"user", {{"uid", 0}, {"gid", 0}}}};
  google::protobuf::Any any;
  any.set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
  any.set_value(process.dump());
  return any;
}

}  // namespace gantry::testing
