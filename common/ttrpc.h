// containerd's ttrpc framing (github.com/containerd/ttrpc): protobuf
// request/response messages over a stream socket, each in a frame with a
// 10-byte header. contd talks to its shims this way; the shim serves it from a
// single-threaded loop, which gRPC's HTTP/2 stack could not do as cheaply.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "ttrpc/ttrpc.pb.h"

namespace google::protobuf {
class MessageLite;
}

namespace gantry::ttrpc {

enum class FrameType : uint8_t { kRequest = 1, kResponse = 2 };

inline constexpr size_t kHeaderSize = 10;
// ttrpc's limit; larger frames are refused rather than buffered.
inline constexpr size_t kMaxPayload = 4 << 20;

struct Frame {
  uint32_t stream_id = 0;
  FrameType type = FrameType::kRequest;
  std::string payload;
};

// Header (length, stream id: big endian; type; flags) followed by the payload.
std::string EncodeFrame(uint32_t stream_id, FrameType type, absl::string_view payload);

// Splits the bytes read from a stream socket into frames.
class FrameDecoder {
 public:
  void Append(const char* data, size_t size) { buffer_.append(data, size); }
  // The next complete frame, nullopt when more bytes are needed, or an error
  // for a frame larger than kMaxPayload (the connection is then unusable).
  absl::StatusOr<std::optional<Frame>> Next();

 private:
  std::string buffer_;
};

Status StatusToProto(const absl::Status& status);
absl::Status StatusFromProto(const Status& status);

// A blocking client on one connection. Not thread-safe: a caller that needs
// concurrent calls opens one client per call (connecting costs microseconds).
class Client {
 public:
  static absl::StatusOr<Client> Connect(const std::string& socket_path);

  // Sends `request` to service/method and parses the reply into `response`.
  // Transport failures are UNAVAILABLE; the server's errors keep their code.
  absl::Status Call(absl::string_view service, absl::string_view method,
                    const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response,
                    absl::Duration timeout = absl::InfiniteDuration());

  // Makes a call blocked in another thread return UNAVAILABLE (shutdown(2)).
  void Interrupt();

 private:
  explicit Client(UniqueFd fd) : fd_(std::move(fd)) {}

  UniqueFd fd_;
  uint32_t next_stream_id_ = 1;  // clients use odd ids, as ttrpc's do
  FrameDecoder decoder_;
};

}  // namespace gantry::ttrpc
