// A container's stdio on engined's side: the FIFOs the shim copies the
// process's output into (and its stdin from), one relay thread that reads
// them, and the clients attached (attach, logs --follow) that it feeds.
// The container's output goes to its log whether anyone is attached or not
// (the shim writes the log); this is only the live view.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace gantry::engined {

class ContainerIo {
 public:
  // 1 = stdout, 2 = stderr, as Docker's stdcopy stream numbers.
  using Sink = std::function<void(int stream, absl::string_view data)>;

  // Makes (or reuses) the FIFOs under `dir`: stdin (when `with_stdin`),
  // stdout and, without a terminal, stderr; and starts the relay.
  static absl::StatusOr<std::unique_ptr<ContainerIo>> Open(const std::string& dir, bool tty,
                                                           bool with_stdin);
  ~ContainerIo();
  ContainerIo(const ContainerIo&) = delete;
  ContainerIo& operator=(const ContainerIo&) = delete;

  // Paths for Tasks.Create ("" for a stream the container does not have).
  const std::string& stdin_path() const { return stdin_path_; }
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }

  // Feeds `sink` everything read from now on; `on_end` runs once the
  // process has exited and its last output was delivered (or at detach).
  int Attach(Sink sink, std::function<void()> on_end);
  void Detach(int handle);
  // Ends every attached client (engined is stopping; the process runs on).
  void DetachAll();
  absl::Status WriteStdin(absl::string_view data);

  // The process has exited: delivers what the FIFOs still hold, then ends
  // every attached client.
  void Finish();

 private:
  ContainerIo() = default;
  void Relay();
  void Deliver(int stream, absl::string_view data);

  std::string stdin_path_, stdout_path_, stderr_path_;
  UniqueFd stdin_, stdout_, stderr_;
  UniqueFd wake_;  // eventfd: Finish or destruction
  std::thread relay_;

  std::mutex mu_;
  struct Client {
    Sink sink;
    std::function<void()> on_end;
  };
  std::map<int, Client> clients_;
  int next_handle_ = 1;
};

}  // namespace gantry::engined
