#include "cli/commands/attach_session.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/terminal/terminal.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

constexpr char kCtrlP = 0x10;
constexpr char kCtrlQ = 0x11;

// False when engined refused it (the process has no TTY yet).
bool Resize(EngineClient& client, const std::string& id, bool exec) {
  std::optional<WindowSize> size = GetWindowSize(STDOUT_FILENO);
  if (!size || size->rows == 0) return true;
  return client
      .Call("POST", absl::StrCat(exec ? "/exec/" : "/containers/", id, "/resize?h=", size->rows,
                                 "&w=", size->columns))
      .ok();
}

// SIGWINCH, and what docker's --sig-proxy passes on to the container.
sigset_t ForwardedSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) {
    sigaddset(&signals, signal);
  }
  return signals;
}

}  // namespace

// What the stdin thread shares with the session; it outlives the session
// when that thread is still blocked reading stdin as we exit.
struct AttachSession::Shared {
  UniqueFd connection;
  std::atomic<bool> detached{false};
  std::unique_ptr<RawTerminal> raw;
};

absl::StatusOr<int> ExitCodeFrom(ResponseStream& wait) {
  GANTRY_ASSIGN_OR_RETURN(std::string body, wait.ReadAll());
  nlohmann::json result = nlohmann::json::parse(body, nullptr, false);
  if (!result.is_object()) return absl::InternalError("waiting for the container: no exit status");
  if (result.contains("Error") && result["Error"].is_object()) {
    return absl::InternalError(
        result["Error"].value("Message", "waiting for the container failed"));
  }
  return result.value("StatusCode", 0);
}

absl::StatusOr<int> AttachAndWait(EngineClient& client, const std::string& id,
                                  AttachOptions options, const std::string& condition,
                                  const std::function<absl::Status()>& start) {
  GANTRY_ASSIGN_OR_RETURN(std::unique_ptr<AttachSession> session,
                          AttachSession::Open(client, id, options));
  GANTRY_ASSIGN_OR_RETURN(
      std::unique_ptr<ResponseStream> wait,
      client.Open("POST", absl::StrCat("/containers/", id, "/wait?condition=", condition)));
  if (start) GANTRY_RETURN_IF_ERROR(start());
  session->ForwardSignals();
  if (session->Relay()) return 0;  // detached: the container runs on
  return ExitCodeFrom(*wait);
}

void WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(size_t(n));
  }
}

absl::StatusOr<std::unique_ptr<AttachSession>> AttachSession::Open(EngineClient& client,
                                                                   const std::string& id,
                                                                   AttachOptions options) {
  GANTRY_ASSIGN_OR_RETURN(
      HijackedConnection hijacked,
      client.Hijack("POST", absl::StrCat("/containers/", id,
                                         "/attach?stream=1&stdin=", options.stdin ? "1" : "0",
                                         "&stdout=", options.stdout ? "1" : "0",
                                         "&stderr=", options.stderr ? "1" : "0")));
  auto shared = std::make_shared<Shared>();
  shared->connection = std::move(hijacked.fd);
  return std::unique_ptr<AttachSession>(
      new AttachSession(client, id, options, std::move(shared), std::move(hijacked.buffered)));
}

absl::StatusOr<std::unique_ptr<AttachSession>> AttachSession::OpenExec(EngineClient& client,
                                                                       const std::string& exec_id,
                                                                       AttachOptions options) {
  GANTRY_ASSIGN_OR_RETURN(HijackedConnection hijacked,
                          client.Hijack("POST", absl::StrCat("/exec/", exec_id, "/start"),
                                        nlohmann::json{{"Detach", false}, {"Tty", options.tty}}));
  auto shared = std::make_shared<Shared>();
  shared->connection = std::move(hijacked.fd);
  return std::unique_ptr<AttachSession>(
      new AttachSession(client, exec_id, options, std::move(shared), std::move(hijacked.buffered)));
}

AttachSession::AttachSession(EngineClient& client, std::string id, AttachOptions options,
                             std::shared_ptr<Shared> shared, std::string buffered)
    : client_(client),
      id_(std::move(id)),
      options_(options),
      shared_(std::move(shared)),
      buffered_(std::move(buffered)),
      demuxer_([](int stream, absl::string_view data) {
        WriteAll(stream == 2 ? STDERR_FILENO : STDOUT_FILENO, data);
      }) {
  // The signals ForwardSignals takes with sigwait: blocked here, before
  // any thread starts, so that every thread inherits the mask.
  sigset_t signals = ForwardedSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

AttachSession::~AttachSession() { shared_->raw.reset(); }

void AttachSession::ForwardSignals() {
  const bool follow_size = options_.tty && IsTerminal(STDOUT_FILENO);
  const bool exec = options_.exec;
  // An exec's process may not have its TTY yet: retried briefly, as the
  // docker CLI's initTtySize does.
  for (int attempt = 1; follow_size && !Resize(client_, id_, exec) && attempt <= 10; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt));
  }
  // The thread ends with the process; it holds only the host and the id.
  std::thread([host = client_.host(), id = id_, follow_size, exec] {
    EngineClient client(host);
    sigset_t signals = ForwardedSignals();
    for (;;) {
      int signal = 0;
      if (sigwait(&signals, &signal) != 0) return;
      if (signal == SIGWINCH) {
        if (follow_size) (void)Resize(client, id, exec);
      } else if (exec) {
        // docker exec passes no signals on: this one ends us, as it would
        // have without the forwarding thread.
        ::signal(signal, SIG_DFL);
        sigset_t only;
        sigemptyset(&only);
        sigaddset(&only, signal);
        pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
        ::raise(signal);
      } else {
        (void)client.Call("POST", absl::StrCat("/containers/", id, "/kill?signal=", signal));
      }
    }
  }).detach();
}

void AttachSession::Output(absl::string_view data) {
  if (options_.tty) {
    WriteAll(STDOUT_FILENO, data);
  } else {
    demuxer_.Feed(data);
  }
}

bool AttachSession::Relay() {
  std::cout.flush();
  if (options_.stdin) {
    if (options_.tty) shared_->raw = std::make_unique<RawTerminal>(STDIN_FILENO);
    std::thread([shared = shared_, tty = options_.tty] {
      const int fd = shared->connection.get();
      char buffer[16 * 1024];
      bool held_ctrl_p = false;
      for (;;) {
        ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        std::string data(buffer, size_t(n));
        if (tty) {
          // ctrl-p ctrl-q detaches; a ctrl-p followed by anything else is
          // sent as typed.
          std::string out;
          for (char c : data) {
            if (held_ctrl_p) {
              held_ctrl_p = false;
              if (c == kCtrlQ) {
                shared->detached = true;
                ::shutdown(fd, SHUT_RDWR);
                return;
              }
              out.push_back(kCtrlP);
            }
            if (c == kCtrlP) {
              held_ctrl_p = true;
            } else {
              out.push_back(c);
            }
          }
          data = out;
        }
        WriteAll(fd, data);
      }
      // End of our input: the container's stdin closes, its output goes on.
      ::shutdown(fd, SHUT_WR);
    }).detach();
  }
  if (!buffered_.empty()) Output(buffered_);
  char buffer[32 * 1024];
  for (;;) {
    ssize_t n = ::read(shared_->connection.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    Output(absl::string_view(buffer, size_t(n)));
  }
  shared_->raw.reset();
  return shared_->detached;
}

}  // namespace gantry::cli
