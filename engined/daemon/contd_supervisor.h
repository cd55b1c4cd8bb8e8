// engined's own contd, as dockerd's managed containerd: started when nothing
// answers at --contd, restarted when it dies, stopped when engined stops
// cleanly. It runs in a session of its own, so an engined killed with
// SIGKILL leaves it (and every container) running; the next engined finds
// it at the socket and adopts it through its pid file.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace gantry::engined {

struct ContdOptions {
  std::string binary;   // contd (looked up in PATH unless it has a slash)
  std::string root;     // --root
  std::string state;    // --state
  std::string address;  // --address
  std::string pid_file;
  std::vector<std::string> extra_args;  // --insecure-registry ...
};

class ContdSupervisor {
 public:
  explicit ContdSupervisor(ContdOptions options) : options_(std::move(options)) {}
  ~ContdSupervisor();
  ContdSupervisor(const ContdSupervisor&) = delete;
  ContdSupervisor& operator=(const ContdSupervisor&) = delete;

  // Adopts a contd the pid file names that still answers, else starts one;
  // returns once its socket accepts connections.
  absl::Status Start(absl::Duration timeout);
  // SIGTERM to contd, waiting for it to go (SIGKILL after `grace`).
  void Stop(absl::Duration grace);

 private:
  absl::Status Spawn();
  void Watch();

  const ContdOptions options_;
  std::mutex mu_;
  std::condition_variable stopping_cv_;
  pid_t pid_ = -1;
  bool stopping_ = false;
  std::thread watcher_;
};

// Whether a unix socket accepts connections now.
bool SocketAnswers(const std::string& path);

}  // namespace gantry::engined
