// gantry cp: files between a container and the host (or a tar on stdin or
// stdout, "-") through engined's archive API, with docker's rules for where
// the copy lands (into an existing directory, or renamed to a new path).
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli/commands/attach_session.h"
#include "cli/commands/command_context.h"
#include "cli/format/units.h"
#include "cli/terminal/terminal.h"
#include "common/errors.h"
#include "common/tree_tar.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

struct CpFlags {
  std::string source;
  std::string destination;
  bool archive = false;
  bool follow_link = false;
  bool quiet = false;
};

// "web:/etc/hosts" -> {"web", "/etc/hosts"}; a local path has no container
// (absolute, or starting with "." , or without ":").
struct CpArg {
  std::string container;
  std::string path;
};
CpArg SplitCpArg(const std::string& arg) {
  if (absl::StartsWith(arg, "/") || absl::StartsWith(arg, ".")) return {"", arg};
  const size_t colon = arg.find(':');
  if (colon == std::string::npos) return {"", arg};
  return {arg.substr(0, colon), arg.substr(colon + 1)};
}

// What docker's PrepareArchiveCopy needs to know of each side.
struct CopyInfo {
  std::string path;
  bool exists = false;
  bool is_dir = false;
  std::string rebase_name;  // the name a followed symlink had
};

std::pair<std::string, std::string> SplitDirEntry(const std::string& path) {
  std::string trimmed(absl::StripSuffix(path, "/"));
  if (trimmed.empty()) return {"/", "/"};
  const size_t slash = trimmed.rfind('/');
  if (slash == std::string::npos) return {".", trimmed};
  return {slash == 0 ? "/" : trimmed.substr(0, slash), trimmed.substr(slash + 1)};
}

// Where the archive is extracted and how its top entry is renamed (from,
// to), as docker's PrepareArchiveCopy decides.
struct CopyPlan {
  std::string directory;
  std::string rename_from;
  std::string rename_to;
};
absl::StatusOr<CopyPlan> PlanCopy(const CopyInfo& source, const CopyInfo& destination) {
  auto [destination_dir, destination_base] = SplitDirEntry(destination.path);
  std::string source_base = SplitDirEntry(source.path).second;
  if (!source.rebase_name.empty()) source_base = source.rebase_name;
  if (destination.exists && destination.is_dir) {
    return CopyPlan{destination.path, SplitDirEntry(source.path).second, source_base};
  }
  if (destination.exists && source.is_dir)
    return absl::InvalidArgumentError("cannot copy directory");
  if (!destination.exists && !source.is_dir && absl::EndsWith(destination.path, "/")) {
    return absl::NotFoundError("no such directory");
  }
  return CopyPlan{destination_dir, SplitDirEntry(source.path).second, destination_base};
}

// `name` with its first element `from` replaced by `to`; a source "dir/."
// (its content) has entries "./x", all of them put under `to`.
std::string Rebase(const std::string& name, const std::string& from, const std::string& to) {
  std::string trimmed(absl::StripPrefix(name, "./"));
  if (from == to) return trimmed;
  if (from == ".") {
    if (trimmed.empty() || trimmed == ".") return to;
    return absl::StrCat(to, "/", trimmed);
  }
  if (trimmed == from || absl::StartsWith(trimmed, from + "/")) {
    return absl::StrCat(to, trimmed.substr(from.size()));
  }
  return trimmed;
}

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

absl::Status ArchiveError(struct archive* a, const std::string& what) {
  const char* text = archive_error_string(a);
  return absl::InternalError(absl::StrCat(what, ": ", text != nullptr ? text : "archive error"));
}

// The stat engined sends in X-Docker-Container-Path-Stat.
absl::StatusOr<json> PathStat(const ResponseStream& response) {
  std::string decoded;
  if (!absl::Base64Unescape(response.header("X-Docker-Container-Path-Stat"), &decoded)) {
    return absl::InternalError("engined sent no X-Docker-Container-Path-Stat");
  }
  json stat = json::parse(decoded, nullptr, false);
  if (!stat.is_object()) return absl::InternalError("engined's path stat is not JSON");
  return stat;
}

// Go's os.ModeDir and os.ModeSymlink in the stat's mode.
bool StatIsDir(const json& stat) { return (stat.value("mode", uint64_t{0}) & (1ull << 31)) != 0; }
bool StatIsLink(const json& stat) { return (stat.value("mode", uint64_t{0}) & (1ull << 27)) != 0; }

absl::StatusOr<std::unique_ptr<ResponseStream>> ContainerArchive(EngineClient& client,
                                                                 const std::string& method,
                                                                 const std::string& container,
                                                                 const std::string& path) {
  return client.Open(method,
                     absl::StrCat("/containers/", container, "/archive?path=", QueryEscape(path)));
}

// Extracts the tar read from `response` under `plan.directory`, its top
// entry renamed; the bytes read.
absl::StatusOr<uint64_t> ExtractTo(ResponseStream& response, const CopyPlan& plan) {
  struct Reader {
    ResponseStream* response;
    char buffer[64 * 1024];
    uint64_t total = 0;
    absl::Status error;
  } reader{&response, {}, 0, absl::OkStatus()};
  ArchivePtr in(archive_read_new());
  archive_read_support_format_tar(in.get());
  auto read = [](struct archive*, void* data, const void** block) -> la_ssize_t {
    auto* r = static_cast<Reader*>(data);
    absl::StatusOr<size_t> n = r->response->Read(r->buffer, sizeof r->buffer);
    if (!n.ok()) {
      r->error = n.status();
      return -1;
    }
    r->total += *n;
    *block = r->buffer;
    return la_ssize_t(*n);
  };
  if (archive_read_open(in.get(), &reader, nullptr, read, nullptr) != ARCHIVE_OK) {
    return ArchiveError(in.get(), "reading the copy");
  }
  ArchivePtr out(archive_write_disk_new());
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
              ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_UNLINK;
  if (::geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(out.get(), flags);
  struct archive_entry* entry = nullptr;
  for (;;) {
    const int rc = archive_read_next_header(in.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      if (!reader.error.ok()) return reader.error;
      return ArchiveError(in.get(), "reading the copy");
    }
    const std::string name =
        Rebase(archive_entry_pathname(entry), plan.rename_from, plan.rename_to);
    archive_entry_set_pathname(entry, absl::StrCat(plan.directory, "/", name).c_str());
    if (const char* link = archive_entry_hardlink(entry); link != nullptr) {
      archive_entry_set_hardlink(
          entry, absl::StrCat(plan.directory, "/", Rebase(link, plan.rename_from, plan.rename_to))
                     .c_str());
    }
    if (archive_write_header(out.get(), entry) < ARCHIVE_WARN) {
      return ArchiveError(out.get(), name);
    }
    const void* block;
    size_t size;
    la_int64_t offset;
    int data_rc;
    while ((data_rc = archive_read_data_block(in.get(), &block, &size, &offset)) == ARCHIVE_OK) {
      if (archive_write_data_block(out.get(), block, size, offset) < ARCHIVE_WARN) {
        return ArchiveError(out.get(), name);
      }
    }
    if (data_rc < ARCHIVE_WARN) return ArchiveError(in.get(), name);
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) return ArchiveError(out.get(), name);
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) return ArchiveError(out.get(), "closing");
  // The end of the tar may leave padding unread.
  while (reader.response->Read(reader.buffer, sizeof reader.buffer).value_or(0) > 0) {
  }
  return reader.total;
}

std::string Absolute(const std::string& path) {
  if (absl::StartsWith(path, "/")) return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return absl::StrCat(cwd, "/", path);
}

void ReportCopied(const CpFlags& flags, uint64_t bytes, const std::string& destination) {
  if (flags.quiet || !IsTerminal(STDERR_FILENO)) return;
  std::cerr << "Successfully copied " << HumanSize(double(bytes)) << " to " << destination << "\n";
}

absl::StatusOr<int> CopyFromContainer(EngineClient& client, const CpFlags& flags,
                                      const CpArg& source, const std::string& destination) {
  std::string path = source.path;
  std::string rebase_name;
  if (flags.follow_link) {
    GANTRY_ASSIGN_OR_RETURN(auto head, ContainerArchive(client, "HEAD", source.container, path));
    GANTRY_ASSIGN_OR_RETURN(json stat, PathStat(*head));
    if (StatIsLink(stat)) {
      std::string target = stat.value("linkTarget", "");
      if (!absl::StartsWith(target, "/"))
        target = absl::StrCat(SplitDirEntry(path).first, "/", target);
      rebase_name = SplitDirEntry(path).second;
      path = target;
    }
  }
  GANTRY_ASSIGN_OR_RETURN(auto archive, ContainerArchive(client, "GET", source.container, path));
  if (destination == "-") {
    GANTRY_RETURN_IF_ERROR(archive->ReadBody([](absl::string_view data) {
      WriteAll(STDOUT_FILENO, data);
      return true;
    }));
    return 0;
  }
  GANTRY_ASSIGN_OR_RETURN(json stat, PathStat(*archive));
  const std::string target = Absolute(destination);
  CopyInfo to;
  to.path = target;
  struct stat st = {};
  if (::stat(target.c_str(), &st) == 0) {
    to.exists = true;
    to.is_dir = S_ISDIR(st.st_mode);
  } else if (struct stat parent = {}; ::stat(SplitDirEntry(target).first.c_str(), &parent) != 0 ||
                                      !S_ISDIR(parent.st_mode)) {
    return absl::NotFoundError(
        absl::StrCat("stat ", SplitDirEntry(target).first, ": no such file or directory"));
  }
  CopyInfo from;
  from.path = path;
  from.exists = true;
  from.is_dir = StatIsDir(stat);
  from.rebase_name = rebase_name;
  GANTRY_ASSIGN_OR_RETURN(CopyPlan plan, PlanCopy(from, to));
  GANTRY_ASSIGN_OR_RETURN(uint64_t bytes, ExtractTo(*archive, plan));
  ReportCopied(flags, bytes, target);
  return 0;
}

absl::StatusOr<int> CopyToContainer(EngineClient& client, const CpFlags& flags,
                                    const std::string& source, const CpArg& destination) {
  std::string path = destination.path;
  CopyInfo to;
  to.path = path;
  {
    absl::StatusOr<std::unique_ptr<ResponseStream>> head =
        ContainerArchive(client, "HEAD", destination.container, path);
    if (head.ok()) {
      GANTRY_ASSIGN_OR_RETURN(json stat, PathStat(**head));
      if (StatIsLink(stat) && flags.follow_link) {
        path = stat.value("linkTarget", path);
        to.path = path;
      }
      to.exists = true;
      to.is_dir = StatIsDir(stat);
    } else if (head.status().code() != absl::StatusCode::kNotFound) {
      return head.status();
    }
  }
  RequestExtras upload;
  upload.content_type = "application/x-tar";
  std::string put_path;
  uint64_t sent = 0;
  if (source == "-") {
    if (!to.is_dir) {
      return absl::InvalidArgumentError(absl::StrCat("destination \"", destination.container, ":",
                                                     destination.path, "\" must be a directory"));
    }
    put_path = path;
    const BodyProducer stdin_tar = BodyFromFd(STDIN_FILENO, "stdin");
    upload.streamed_body = [&sent, stdin_tar](const BodyWriter& write) {
      return stdin_tar([&](absl::string_view data) {
        sent += data.size();
        return write(data);
      });
    };
  } else {
    const std::string local = Absolute(source);
    struct stat st = {};
    const int rc = flags.follow_link ? ::stat(local.c_str(), &st) : ::lstat(local.c_str(), &st);
    if (rc != 0) return LastErrno(absl::StrCat("stat ", local));
    CopyInfo from;
    from.path = local;
    from.exists = true;
    from.is_dir = S_ISDIR(st.st_mode);
    GANTRY_ASSIGN_OR_RETURN(CopyPlan plan, PlanCopy(from, to));
    put_path = plan.directory;
    upload.streamed_body = [&sent, local, plan, &flags](const BodyWriter& write) {
      const std::string root(absl::StripSuffix(local, "/"));
      return WriteTreeTar(root.empty() ? "/" : root, plan.rename_to,
                          [&](absl::string_view data) {
                            sent += data.size();
                            return write(data);
                          },
                          {.follow_root = flags.follow_link});
    };
  }
  GANTRY_ASSIGN_OR_RETURN(auto response,
                          client.Open("PUT",
                                      absl::StrCat("/containers/", destination.container,
                                                   "/archive?path=", QueryEscape(put_path),
                                                   "&noOverwriteDirNonDir=true&copyUIDGID=",
                                                   flags.archive ? "true" : "false"),
                                      upload));
  GANTRY_RETURN_IF_ERROR(response->ReadAll().status());
  ReportCopied(flags, sent, absl::StrCat(destination.container, ":", destination.path));
  return 0;
}

absl::StatusOr<int> Cp(CommandContext& context, const CpFlags& flags) {
  const CpArg source = SplitCpArg(flags.source);
  const CpArg destination = SplitCpArg(flags.destination);
  if (source.container.empty() && destination.container.empty()) {
    return absl::InvalidArgumentError("must specify at least one container source");
  }
  if (!source.container.empty() && !destination.container.empty()) {
    return absl::InvalidArgumentError("copying between containers is not supported");
  }
  if (!source.container.empty()) {
    return CopyFromContainer(context.client(), flags, source, flags.destination);
  }
  return CopyToContainer(context.client(), flags, flags.source, destination);
}

}  // namespace

void AddCpCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<CpFlags>();
  CLI::App* cp =
      app.add_subcommand("cp", "Copy files/folders between a container and the local filesystem");
  cp->add_option("source", flags->source, "CONTAINER:SRC_PATH or SRC_PATH|-")->required();
  cp->add_option("destination", flags->destination, "DEST_PATH|- or CONTAINER:DEST_PATH")
      ->required();
  cp->add_flag("-a,--archive", flags->archive, "Archive mode (copy all uid/gid information)");
  cp->add_flag("-L,--follow-link", flags->follow_link, "Always follow symbol link in SRC_PATH");
  cp->add_flag("-q,--quiet", flags->quiet,
               "Suppress progress output during copy. Progress output is automatically suppressed "
               "if no terminal is attached");
  context.OnRun(cp, [&context, flags] { return Cp(context, *flags); });
}

}  // namespace gantry::cli
