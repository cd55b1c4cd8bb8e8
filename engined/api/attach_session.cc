#include "engined/api/attach_session.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"

namespace gantry::engined {

std::string StdcopyFrame(int stream, absl::string_view data) {
  std::string frame(8, '\0');
  frame[0] = static_cast<char>(stream);
  const uint32_t size = static_cast<uint32_t>(data.size());
  frame[4] = static_cast<char>(size >> 24);
  frame[5] = static_cast<char>(size >> 16);
  frame[6] = static_cast<char>(size >> 8);
  frame[7] = static_cast<char>(size);
  frame.append(data.data(), data.size());
  return frame;
}

std::string StreamContentType(bool tty, const HttpRequest& request) {
  if (tty) return "application/vnd.docker.raw-stream";
  return request.version >= ApiVersion{1, 42} ? "application/vnd.docker.multiplexed-stream"
                                              : "application/vnd.docker.raw-stream";
}

void RunAttachSession(std::unique_ptr<Connection> owned, const AttachSession& session) {
  std::shared_ptr<Connection> connection(std::move(owned));
  std::mutex mu;
  std::condition_variable ended_cv;
  bool ended = false;
  absl::Status attached = session.attach(
      [&](int stream, absl::string_view data) {
        if ((stream == 1 && !session.stdout) || (stream == 2 && !session.stderr)) return;
        (void)connection->Write(session.tty ? std::string(data) : StdcopyFrame(stream, data));
      },
      [&] {
        std::lock_guard lock(mu);
        ended = true;
        ended_cv.notify_all();
      });
  if (!attached.ok()) {
    // The response is already a stream: the error goes on stderr.
    const std::string message = absl::StrCat(attached.message(), "\n");
    (void)connection->Write(session.tty ? message : StdcopyFrame(2, message));
    return;
  }
  std::thread input;
  if (session.stdin) {
    input = std::thread([connection, &session] {
      char buffer[16 * 1024];
      for (;;) {
        absl::StatusOr<size_t> n = connection->Read(buffer, sizeof(buffer));
        if (!n.ok() || *n == 0) break;
        if (!session.write_stdin(absl::string_view(buffer, *n)).ok()) break;
      }
      session.stdin_ended();
    });
  }
  {
    std::unique_lock lock(mu);
    ended_cv.wait(lock, [&] { return ended; });
  }
  // The client learns of the end, closes its side, and the input thread
  // reads EOF.
  (void)connection->CloseWrite();
  if (input.joinable()) input.join();
}

}  // namespace gantry::engined
