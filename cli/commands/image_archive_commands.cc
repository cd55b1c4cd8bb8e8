// gantry save and gantry load: image archives (docker-archive and OCI
// layout in one tar) out of and into engined.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/commands/attach_session.h"
#include "cli/commands/command_context.h"
#include "cli/commands/image_pull.h"
#include "cli/terminal/terminal.h"
#include "common/errors.h"
#include "common/unique_fd.h"

namespace gantry::cli {
namespace {

struct SaveFlags {
  std::vector<std::string> images;
  std::string output;
};

absl::Status WriteAllTo(int fd, absl::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrno(absl::StrCat("writing ", what));
    data.remove_prefix(size_t(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Save(CommandContext& context, const SaveFlags& flags) {
  if (flags.output.empty() && IsTerminal(STDOUT_FILENO)) {
    return absl::InvalidArgumentError(
        "cowardly refusing to save to a terminal. Use the -o flag or redirect");
  }
  std::string query = "/images/get?";
  for (const std::string& image : flags.images) {
    absl::StrAppend(&query, query.back() == '?' ? "" : "&", "names=", QueryEscape(image));
  }
  GANTRY_ASSIGN_OR_RETURN(std::unique_ptr<ResponseStream> archive,
                          context.client().Open("GET", query));
  if (flags.output.empty()) {
    absl::Status written;
    GANTRY_RETURN_IF_ERROR(archive->ReadBody([&](absl::string_view data) {
      written = WriteAllTo(STDOUT_FILENO, data, "stdout");
      return written.ok();
    }));
    GANTRY_RETURN_IF_ERROR(written);
    return 0;
  }
  // As docker: a temporary file beside the output, renamed once complete.
  const std::string temporary = absl::StrCat(flags.output, ".gantry-save-", ::getpid());
  UniqueFd file(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!file) return LastErrno(absl::StrCat("failed to save image: ", flags.output));
  absl::Status written;
  absl::Status read = archive->ReadBody([&](absl::string_view data) {
    written = WriteAllTo(file.get(), data, flags.output);
    return written.ok();
  });
  if (read.ok()) read = written;
  if (read.ok() && ::fsync(file.get()) != 0) read = LastErrno(absl::StrCat("fsync ", flags.output));
  if (read.ok() && ::rename(temporary.c_str(), flags.output.c_str()) != 0) {
    read = LastErrno(absl::StrCat("rename to ", flags.output));
  }
  if (!read.ok()) ::unlink(temporary.c_str());
  GANTRY_RETURN_IF_ERROR(read);
  return 0;
}

struct LoadFlags {
  std::string input;
  bool quiet = false;
};

absl::StatusOr<int> Load(CommandContext& context, const LoadFlags& flags) {
  UniqueFd opened;
  int fd = STDIN_FILENO;
  if (!flags.input.empty()) {
    opened.Reset(::open(flags.input.c_str(), O_RDONLY | O_CLOEXEC));
    if (!opened) return LastErrno(absl::StrCat("open ", flags.input));
    fd = opened.get();
  } else if (IsTerminal(STDIN_FILENO)) {
    return absl::InvalidArgumentError("requested load from stdin, but stdin is empty");
  }
  RequestExtras upload;
  upload.content_type = "application/x-tar";
  upload.streamed_body = BodyFromFd(fd, flags.input.empty() ? "stdin" : flags.input);
  GANTRY_ASSIGN_OR_RETURN(
      std::unique_ptr<ResponseStream> response,
      context.client().Open("POST", absl::StrCat("/images/load?quiet=", flags.quiet ? "1" : "0"),
                            upload));
  // "Loaded image: …" comes as a stream message, shown even when quiet.
  GANTRY_RETURN_IF_ERROR(
      ShowProgressStream(*response, std::cout, IsTerminal(STDOUT_FILENO), /*quiet=*/false));
  return 0;
}

}  // namespace

void AddImageArchiveCommands(CLI::App& app, CommandContext& context) {
  auto save_flags = std::make_shared<SaveFlags>();
  CLI::App* save = app.add_subcommand(
      "save", "Save one or more images to a tar archive (streamed to STDOUT by default)");
  save->add_option("images", save_flags->images, "IMAGE [IMAGE...]")->required();
  save->add_option("-o,--output", save_flags->output, "Write to a file, instead of STDOUT");
  context.OnRun(save, [&context, save_flags] { return Save(context, *save_flags); });

  auto load_flags = std::make_shared<LoadFlags>();
  CLI::App* load = app.add_subcommand("load", "Load an image from a tar archive or STDIN");
  load->add_option("-i,--input", load_flags->input, "Read from tar archive file, instead of STDIN");
  load->add_flag("-q,--quiet", load_flags->quiet, "Suppress the load output");
  context.OnRun(load, [&context, load_flags] { return Load(context, *load_flags); });
}

}  // namespace gantry::cli
