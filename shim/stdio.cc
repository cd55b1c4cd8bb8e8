#include "shim/stdio.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/log.h"

namespace gantry::shim {
namespace {

// Docker's copier reads 32 KiB; 16 KiB keeps an idle shim's touched memory small.
constexpr size_t kChunk = 16 * 1024;
// Input the process has not read yet; beyond this the FIFO is not read.
constexpr size_t kMaxPendingInput = 1 << 20;

absl::Status SetNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return LastErrno("fcntl");
  return absl::OkStatus();
}

absl::StatusOr<FdPair> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return LastErrno("pipe");
  return FdPair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Opens an attach path: a FIFO read-write (so opening never waits for the
// other side, and readers and writers may come and go), a regular file as
// is. A missing path becomes a FIFO, as containerd's clients expect.
absl::StatusOr<UniqueFd> OpenAttachPath(const std::string& path, bool for_input) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno != ENOENT) return LastErrno(path);
    if (::mkfifo(path.c_str(), 0600) != 0 && errno != EEXIST) {
      return LastErrno(absl::StrCat("mkfifo ", path));
    }
    info.st_mode = S_IFIFO;
  }
  int flags = O_CLOEXEC;
  if (S_ISFIFO(info.st_mode)) {
    flags |= O_RDWR | O_NONBLOCK;
  } else {
    flags |= for_input ? O_RDONLY : (O_WRONLY | O_APPEND | O_NONBLOCK);
  }
  UniqueFd fd(::open(path.c_str(), flags));
  if (!fd) return LastErrno(path);
  return fd;
}

bool IsFifo(int fd) {
  struct stat info {};
  return ::fstat(fd, &info) == 0 && S_ISFIFO(info.st_mode);
}

}  // namespace

// Copies a process's output stream into the log and the attach sink.
class ProcessStdio::OutputRelay {
 public:
  OutputRelay(EventLoop& loop, UniqueFd source, LogStream stream, JsonLogWriter* log, int sink)
      : loop_(loop), source_(std::move(source)), stream_(stream), log_(log), sink_(sink) {}
  ~OutputRelay() { Stop(); }

  absl::Status Start() {
    GANTRY_RETURN_IF_ERROR(SetNonBlocking(source_.get()));
    return loop_.Add(source_.get(), EPOLLIN, [this](uint32_t) { Copy(/*until_empty=*/false); });
  }

  void Copy(bool until_empty) {
    // A bounded number of reads per wake-up keeps one chatty process from
    // starving the shim's other work.
    for (int round = 0; source_ && (until_empty || round < 4); ++round) {
      const ssize_t n = ::read(source_.get(), buffer_, sizeof(buffer_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      // EOF on a pipe; EIO on a pty master once the last slave closed.
      if (n <= 0) return Stop();
      const absl::string_view chunk(buffer_, static_cast<size_t>(n));
      if (log_) {
        if (absl::Status logged = log_->Write(stream_, chunk); !logged.ok()) {
          log::Warning("contd-shim: ", logged.message());
        }
      }
      // Nobody reading the FIFO must not stall the process: what does not
      // fit is dropped for the attach side (the log has it all).
      if (sink_ >= 0) (void)::write(sink_, chunk.data(), chunk.size());
    }
  }

 private:
  void Stop() {
    if (!source_) return;
    loop_.Remove(source_.get());
    source_.Reset();
    if (log_) log_->Flush(stream_).IgnoreError();
  }

  EventLoop& loop_;
  UniqueFd source_;
  LogStream stream_;
  JsonLogWriter* log_;
  int sink_;
  char buffer_[kChunk];
};

// Copies the stdin FIFO into the process, holding back when it reads slowly.
class ProcessStdio::InputRelay {
 public:
  InputRelay(EventLoop& loop, int fifo, UniqueFd target)
      : loop_(loop), fifo_(fifo), target_(std::move(target)) {}
  ~InputRelay() { Close(); }

  absl::Status Start() {
    GANTRY_RETURN_IF_ERROR(SetNonBlocking(target_.get()));
    return WatchFifo();
  }

  void Close() {
    if (!target_) return;
    loop_.Remove(fifo_);
    loop_.Remove(target_.get());
    target_.Reset();
  }

  // Ends the process's stdin once what the FIFO holds now has reached it: a
  // client writes its input, then asks for the close, and must not lose
  // the input still on its way.
  void CloseWhenDrained() {
    if (!target_) return;
    closing_ = true;
    char buffer[kChunk];
    for (;;) {
      const ssize_t n = ::read(fifo_, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending_.append(buffer, static_cast<size_t>(n));
    }
    WriteTarget();
  }

 private:
  absl::Status WatchFifo() {
    return loop_.Add(fifo_, EPOLLIN, [this](uint32_t) { ReadFifo(); });
  }

  void ReadFifo() {
    char buffer[kChunk];
    const ssize_t n = ::read(fifo_, buffer, sizeof(buffer));
    if (n <= 0) return;  // the shim holds a writer: never EOF, only EAGAIN
    pending_.append(buffer, static_cast<size_t>(n));
    WriteTarget();
  }

  void WriteTarget() {
    while (!pending_.empty()) {
      const ssize_t n = ::write(target_.get(), pending_.data(), pending_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n < 0) return Close();  // the process closed its stdin
      pending_.erase(0, static_cast<size_t>(n));
    }
    if (closing_ && pending_.empty()) return Close();
    const bool backlog = pending_.size() >= kMaxPendingInput;
    const bool waiting = !pending_.empty();
    if (waiting && !watching_target_) {
      watching_target_ =
          loop_.Add(target_.get(), EPOLLOUT, [this](uint32_t) { WriteTarget(); }).ok();
    } else if (!waiting && watching_target_) {
      loop_.Remove(target_.get());
      watching_target_ = false;
    }
    if (backlog && reading_fifo_) {
      loop_.Remove(fifo_);
      reading_fifo_ = false;
    } else if (!backlog && !reading_fifo_) {
      reading_fifo_ = WatchFifo().ok();
    }
  }

  EventLoop& loop_;
  int fifo_;
  UniqueFd target_;
  std::string pending_;
  bool closing_ = false;
  bool watching_target_ = false;
  bool reading_fifo_ = true;
};

absl::StatusOr<std::unique_ptr<ProcessStdio>> ProcessStdio::Open(EventLoop& loop,
                                                                 const StdioPaths& paths,
                                                                 JsonLogWriter* log) {
  std::unique_ptr<ProcessStdio> stdio(new ProcessStdio(loop));
  stdio->log_ = log;
  stdio->terminal_ = paths.terminal;
  if (!paths.out.empty()) {
    GANTRY_ASSIGN_OR_RETURN(stdio->stdout_sink_, OpenAttachPath(paths.out, false));
  }
  if (!paths.err.empty() && !paths.terminal) {
    GANTRY_ASSIGN_OR_RETURN(stdio->stderr_sink_, OpenAttachPath(paths.err, false));
  }
  if (!paths.in.empty()) {
    GANTRY_ASSIGN_OR_RETURN(UniqueFd in, OpenAttachPath(paths.in, true));
    if (IsFifo(in.get())) {
      stdio->stdin_fifo_ = std::move(in);
    } else if (!paths.terminal) {
      stdio->process_in_ = std::move(in);  // a plain file: the process reads it itself
    }
  }
  if (paths.terminal) return stdio;

  if (stdio->stdin_fifo_) {
    GANTRY_ASSIGN_OR_RETURN(FdPair in, MakePipe());
    stdio->process_in_ = std::move(in.first);
    stdio->stdin_relay_ =
        std::make_unique<InputRelay>(loop, stdio->stdin_fifo_.get(), std::move(in.second));
    GANTRY_RETURN_IF_ERROR(stdio->stdin_relay_->Start());
  }
  GANTRY_ASSIGN_OR_RETURN(FdPair out, MakePipe());
  GANTRY_ASSIGN_OR_RETURN(FdPair err, MakePipe());
  stdio->process_out_ = std::move(out.second);
  stdio->process_err_ = std::move(err.second);
  stdio->stdout_relay_ = std::make_unique<OutputRelay>(
      loop, std::move(out.first), LogStream::kStdout, log, stdio->stdout_sink_.get());
  stdio->stderr_relay_ = std::make_unique<OutputRelay>(
      loop, std::move(err.first), LogStream::kStderr, log, stdio->stderr_sink_.get());
  GANTRY_RETURN_IF_ERROR(stdio->stdout_relay_->Start());
  GANTRY_RETURN_IF_ERROR(stdio->stderr_relay_->Start());
  return stdio;
}

ProcessStdio::ProcessStdio(EventLoop& loop) : loop_(loop) {}

ProcessStdio::~ProcessStdio() {
  // Relays unregister from the loop before the descriptors they use close.
  stdin_relay_.reset();
  stdout_relay_.reset();
  stderr_relay_.reset();
}

RuntimeStdio ProcessStdio::ProcessSide() const {
  return RuntimeStdio{process_in_.get(), process_out_.get(), process_err_.get()};
}

void ProcessStdio::CloseProcessSide() {
  process_in_.Reset();
  process_out_.Reset();
  process_err_.Reset();
}

absl::Status ProcessStdio::AttachConsole(UniqueFd master) {
  GANTRY_RETURN_IF_ERROR(SetNonBlocking(master.get()));
  UniqueFd output(::fcntl(master.get(), F_DUPFD_CLOEXEC, 0));
  if (!output) return LastErrno("dup pty master");
  stdout_relay_ = std::make_unique<OutputRelay>(loop_, std::move(output), LogStream::kStdout, log_,
                                                stdout_sink_.get());
  GANTRY_RETURN_IF_ERROR(stdout_relay_->Start());
  if (stdin_fifo_) {
    UniqueFd input(::fcntl(master.get(), F_DUPFD_CLOEXEC, 0));
    if (!input) return LastErrno("dup pty master");
    stdin_relay_ = std::make_unique<InputRelay>(loop_, stdin_fifo_.get(), std::move(input));
    GANTRY_RETURN_IF_ERROR(stdin_relay_->Start());
  }
  console_ = std::move(master);
  return absl::OkStatus();
}

void ProcessStdio::CloseStdin() {
  if (stdin_relay_) stdin_relay_->CloseWhenDrained();
}

absl::Status ProcessStdio::Resize(uint32_t width, uint32_t height) {
  if (!console_) return absl::FailedPreconditionError("the process has no terminal");
  winsize size{};
  size.ws_col = static_cast<unsigned short>(width);
  size.ws_row = static_cast<unsigned short>(height);
  if (::ioctl(console_.get(), TIOCSWINSZ, &size) != 0) return LastErrno("TIOCSWINSZ");
  return absl::OkStatus();
}

void ProcessStdio::Drain() {
  if (stdout_relay_) stdout_relay_->Copy(/*until_empty=*/true);
  if (stderr_relay_) stderr_relay_->Copy(/*until_empty=*/true);
}

}  // namespace gantry::shim
