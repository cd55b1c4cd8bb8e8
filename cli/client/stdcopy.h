// Docker's stdcopy framing (attach and logs without a TTY): each frame is an
// 8-byte header (stream: 0 stdin, 1 stdout, 2 stderr; 3 zeros; big-endian
// length) and the payload.
#pragma once

#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace gantry::cli {

class StdcopyDemuxer {
 public:
  using Sink = std::function<void(int stream, absl::string_view data)>;
  explicit StdcopyDemuxer(Sink sink) : sink_(std::move(sink)) {}

  // Bytes as they arrive, frames split anywhere.
  void Feed(absl::string_view data);

 private:
  Sink sink_;
  std::string pending_;
};

}  // namespace gantry::cli
