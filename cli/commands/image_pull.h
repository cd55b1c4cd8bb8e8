// Pulling an image with docker's progress display: used by `pull`, and by
// `create`/`run` when the image is not there yet; the same display shows
// `push` and `load`.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "cli/client/engine_client.h"

namespace gantry::cli {

// "registry:5000/a/b:tag@sha256:…" split where the API wants it: fromImage
// (name) and tag (a tag or a digest).
struct ImageName {
  std::string name;
  std::string tag;     // empty when not given
  std::string digest;  // "sha256:…", empty when not given
};
ImageName ParseImageName(const std::string& reference);
// "busybox" -> "busybox:latest"; a reference with a tag or digest is kept.
std::string WithDefaultTag(const std::string& reference);

// Docker's rendering of a JSON progress stream: on a terminal one line per
// layer, rewritten in place with a progress bar; elsewhere one plain line per
// status, without the byte counts.
class ProgressDisplay {
 public:
  ProgressDisplay(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}
  // One message; its "error" as an error.
  absl::Status Show(const nlohmann::json& message);

 private:
  std::ostream& out_;
  bool terminal_;
  std::map<std::string, size_t> lines_;  // layer id -> line, since the last plain line
};

// Shows each JSON message of `stream` (one per line) on `out` with a
// ProgressDisplay (nothing but errors when `quiet`); the first error message
// as an error.
absl::Status ShowProgressStream(ResponseStream& stream, std::ostream& out, bool terminal,
                                bool quiet);

// Pulls `reference`, showing progress on `out` (nothing but errors when
// `quiet`).
absl::Status PullImage(EngineClient& client, const std::string& reference, std::ostream& out,
                       bool terminal, bool quiet);

}  // namespace gantry::cli
