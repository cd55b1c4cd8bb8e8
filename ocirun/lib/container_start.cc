#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "ocirun/lib/container.h"
#include "ocirun/lib/hooks.h"

namespace ocirun {

absl::Status StartContainer(const GlobalOptions& global, const std::string& id) {
  StateStore store(global.root);
  GANTRY_ASSIGN_OR_RETURN(ContainerState state, store.Load(id));
  Status status = CurrentStatus(store, state);
  if (status != Status::kCreated)
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start a container that has ",
                     status == Status::kStopped ? "stopped" : "already been started"));
  std::string fifo_path = store.ExecFifo(id);
  // Non-blocking open succeeds at once; the init, blocked opening the other
  // end, then wakes and writes one byte.
  gantry::UniqueFd fifo(::open(fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) return gantry::LastErrno("open exec.fifo");
  for (;;) {
    char byte;
    ssize_t n = ::read(fifo.get(), &byte, 1);
    if (n == 1) break;
    if (!ProcessStartTime(state.pid))
      return absl::FailedPreconditionError("container init exited before it could be started");
    struct pollfd pfd {
      fifo.get(), POLLIN, 0
    };
    ::poll(&pfd, 1, 10);
  }
  ::unlink(fifo_path.c_str());

  // The hooks of the config the container was created from (the bundle may have changed since).
  auto config = LoadSpec(store.Dir(id));
  if (config.ok() && !config->hooks.poststart.empty()) {
    // Like runc, a failing poststart hook is reported but the container runs on.
    auto st =
        RunHooks(config->hooks.poststart, "poststart", StateJson(state, Status::kRunning).dump());
    if (!st.ok()) gantry::log::Warning(st.message());
  }
  return absl::OkStatus();
}

}  // namespace ocirun
