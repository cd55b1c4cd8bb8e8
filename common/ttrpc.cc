#include "common/ttrpc.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unix_socket.h"

namespace gantry::ttrpc {
namespace {

void PutBigEndian32(std::string& out, uint32_t value) {
  out.push_back(static_cast<char>(value >> 24));
  out.push_back(static_cast<char>(value >> 16));
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value));
}

uint32_t GetBigEndian32(const char* in) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(in);
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

absl::Status Unavailable(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("ttrpc: ", what));
}

// Waits until `fd` is readable or the deadline passes.
absl::Status WaitReadable(int fd, absl::Time deadline) {
  while (true) {
    int timeout_ms = -1;
    if (deadline != absl::InfiniteFuture()) {
      timeout_ms = static_cast<int>(
          absl::ToInt64Milliseconds(std::max(deadline - absl::Now(), absl::ZeroDuration())));
    }
    pollfd entry{fd, POLLIN, 0};
    const int ready = ::poll(&entry, 1, timeout_ms);
    if (ready > 0) return absl::OkStatus();
    if (ready == 0) return absl::DeadlineExceededError("ttrpc: no reply before the deadline");
    if (errno != EINTR) return LastErrno("ttrpc: poll");
  }
}

}  // namespace

std::string EncodeFrame(uint32_t stream_id, FrameType type, absl::string_view payload) {
  std::string frame;
  frame.reserve(kHeaderSize + payload.size());
  PutBigEndian32(frame, static_cast<uint32_t>(payload.size()));
  PutBigEndian32(frame, stream_id);
  frame.push_back(static_cast<char>(type));
  frame.push_back(0);  // flags
  frame.append(payload.data(), payload.size());
  return frame;
}

absl::StatusOr<std::optional<Frame>> FrameDecoder::Next() {
  if (buffer_.size() < kHeaderSize) return std::nullopt;
  const uint32_t length = GetBigEndian32(buffer_.data());
  if (length > kMaxPayload) {
    return absl::ResourceExhaustedError(
        absl::StrCat("ttrpc: frame of ", length, " bytes exceeds the limit of ", kMaxPayload));
  }
  if (buffer_.size() < kHeaderSize + length) return std::nullopt;
  Frame frame;
  frame.stream_id = GetBigEndian32(buffer_.data() + 4);
  frame.type = static_cast<FrameType>(buffer_[8]);
  frame.payload.assign(buffer_, kHeaderSize, length);
  buffer_.erase(0, kHeaderSize + length);
  return frame;
}

Status StatusToProto(const absl::Status& status) {
  Status proto;
  proto.set_code(static_cast<int32_t>(status.code()));
  proto.set_message(std::string(status.message()));
  return proto;
}

absl::Status StatusFromProto(const Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.code()), status.message());
}

absl::StatusOr<Client> Client::Connect(const std::string& socket_path) {
  absl::StatusOr<UniqueFd> fd = ConnectUnixSocket(socket_path);
  if (!fd.ok()) return Unavailable(fd.status().message());
  return Client(std::move(*fd));
}

absl::Status Client::Call(absl::string_view service, absl::string_view method,
                          const google::protobuf::MessageLite& request,
                          google::protobuf::MessageLite* response, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  Request envelope;
  envelope.set_service(std::string(service));
  envelope.set_method(std::string(method));
  if (!request.SerializeToString(envelope.mutable_payload())) {
    return absl::InternalError(absl::StrCat("ttrpc: cannot serialize ", method, " request"));
  }
  if (timeout != absl::InfiniteDuration()) {
    envelope.set_timeout_nano(absl::ToInt64Nanoseconds(timeout));
  }
  const uint32_t stream_id = next_stream_id_;
  next_stream_id_ += 2;
  const std::string frame =
      EncodeFrame(stream_id, FrameType::kRequest, envelope.SerializeAsString());
  for (size_t sent = 0; sent < frame.size();) {
    const ssize_t n = ::send(fd_.get(), frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unavailable(absl::StrCat("send ", method, ": ", strerror(errno)));
    sent += static_cast<size_t>(n);
  }

  while (true) {
    absl::StatusOr<std::optional<Frame>> next = decoder_.Next();
    if (!next.ok()) return next.status();
    if (next->has_value()) {
      const Frame& reply = **next;
      if (reply.stream_id != stream_id || reply.type != FrameType::kResponse) continue;
      Response parsed;
      if (!parsed.ParseFromString(reply.payload)) {
        return absl::InternalError(absl::StrCat("ttrpc: malformed reply to ", method));
      }
      if (parsed.status().code() != 0) return StatusFromProto(parsed.status());
      if (!response->ParseFromString(parsed.payload())) {
        return absl::InternalError(absl::StrCat("ttrpc: malformed ", method, " response"));
      }
      return absl::OkStatus();
    }
    GANTRY_RETURN_IF_ERROR(WaitReadable(fd_.get(), deadline));
    char buffer[16384];
    const ssize_t n = ::read(fd_.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unavailable(absl::StrCat("read ", method, " reply: ", strerror(errno)));
    if (n == 0) return Unavailable(absl::StrCat("connection closed before the ", method, " reply"));
    decoder_.Append(buffer, static_cast<size_t>(n));
  }
}

void Client::Interrupt() { ::shutdown(fd_.get(), SHUT_RDWR); }

}  // namespace gantry::ttrpc
