#include "cli/client/stdcopy.h"

#include <cstdint>

namespace gantry::cli {

void StdcopyDemuxer::Feed(absl::string_view data) {
  pending_.append(data.data(), data.size());
  size_t offset = 0;
  while (pending_.size() - offset >= 8) {
    const auto* header = reinterpret_cast<const unsigned char*>(pending_.data() + offset);
    const uint32_t length = uint32_t(header[4]) << 24 | uint32_t(header[5]) << 16 |
                            uint32_t(header[6]) << 8 | uint32_t(header[7]);
    if (pending_.size() - offset - 8 < length) break;
    sink_(header[0], absl::string_view(pending_).substr(offset + 8, length));
    offset += 8 + length;
  }
  pending_.erase(0, offset);
}

}  // namespace gantry::cli
