// gantry pull, images, rmi, tag, and the `image` group's inspect.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli/client/registry_auth.h"
#include "cli/commands/command_context.h"
#include "cli/commands/image_pull.h"
#include "cli/commands/list_rows.h"
#include "cli/format/table.h"
#include "cli/format/template.h"
#include "cli/format/units.h"
#include "cli/terminal/terminal.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

// "busybox:latest" -> "docker.io/library/busybox:latest"; a name with a
// registry host is kept.
std::string FullyQualified(const std::string& reference) {
  const size_t slash = reference.find('/');
  if (slash != std::string::npos && RegistryOf(reference) == reference.substr(0, slash)) {
    return reference;
  }
  return absl::StrCat("docker.io/", slash == std::string::npos ? "library/" : "", reference);
}

struct PullFlags {
  std::string reference;
  bool quiet = false;
};

absl::StatusOr<int> Pull(CommandContext& context, const PullFlags& flags) {
  GANTRY_RETURN_IF_ERROR(PullImage(context.client(), flags.reference, std::cout,
                                   IsTerminal(STDOUT_FILENO), flags.quiet));
  std::cout << FullyQualified(WithDefaultTag(flags.reference)) << "\n";
  return 0;
}

struct PushFlags {
  std::string reference;
  bool all_tags = false;
  bool quiet = false;
};

// Pushes with docker's progress (a bar per layer on a terminal), the
// credentials of ~/.docker/config.json in X-Registry-Auth.
absl::StatusOr<int> Push(CommandContext& context, const PushFlags& flags) {
  ImageName image = ParseImageName(flags.reference);
  if (!image.digest.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid reference \"", flags.reference, "\": a digest cannot be pushed"));
  }
  if (flags.all_tags && !image.tag.empty()) {
    return absl::InvalidArgumentError("tag can't be used with --all-tags/-a");
  }
  if (!flags.all_tags && image.tag.empty()) {
    image.tag = "latest";
    if (!flags.quiet) std::cout << "Using default tag: latest\n";
  }
  RequestExtras extras;
  extras.headers.emplace_back("X-Registry-Auth", RegistryAuth(image.name));
  std::string path = absl::StrCat("/images/", image.name, "/push");
  if (!image.tag.empty()) absl::StrAppend(&path, "?tag=", QueryEscape(image.tag));
  GANTRY_ASSIGN_OR_RETURN(std::unique_ptr<ResponseStream> stream,
                          context.client().Open("POST", path, extras));
  GANTRY_RETURN_IF_ERROR(
      ShowProgressStream(*stream, std::cout, IsTerminal(STDOUT_FILENO), flags.quiet));
  if (flags.quiet)
    std::cout << FullyQualified(flags.all_tags ? image.name : WithDefaultTag(flags.reference))
              << "\n";
  return 0;
}

struct ImagesFlags {
  std::string repository;
  bool all = false;
  bool quiet = false;
  bool no_trunc = false;
  bool digests = false;
  std::vector<std::string> filters;
  std::string format;
};

absl::StatusOr<int> Images(CommandContext& context, ImagesFlags flags) {
  if (!flags.repository.empty()) flags.filters.push_back("reference=" + flags.repository);
  GANTRY_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(flags.filters));
  GANTRY_ASSIGN_OR_RETURN(
      json images, context.client().CallJson(
                       "GET", absl::StrCat("/images/json?all=", flags.all ? "1" : "0", filters)));
  std::vector<json> rows = ImageRows(images, flags.no_trunc, flags.digests);
  if (flags.quiet) {
    for (const json& row : rows) std::cout << row["ID"].get<std::string>() << "\n";
    return 0;
  }
  std::string table = kImagesTable;
  if (flags.digests) {
    table = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  }
  GANTRY_ASSIGN_OR_RETURN(std::string text, FormatList(flags.format, rows, ImageHeaders(), table));
  std::cout << text;
  return 0;
}

struct RmiFlags {
  std::vector<std::string> images;
  bool force = false;
  bool no_prune = false;
};

absl::StatusOr<int> Rmi(CommandContext& context, const RmiFlags& flags) {
  absl::Status failed;
  for (const std::string& image : flags.images) {
    absl::StatusOr<json> removed = context.client().CallJson(
        "DELETE", absl::StrCat("/images/", image, "?force=", flags.force ? "1" : "0",
                               "&noprune=", flags.no_prune ? "1" : "0"));
    if (!removed.ok()) {
      if (removed.status().code() == absl::StatusCode::kUnavailable) return removed.status();
      std::cerr << removed.status().message() << "\n";
      failed = removed.status();
      continue;
    }
    for (const json& item : *removed) {
      if (item.contains("Untagged"))
        std::cout << "Untagged: " << GoString(item["Untagged"]) << "\n";
      if (item.contains("Deleted")) std::cout << "Deleted: " << GoString(item["Deleted"]) << "\n";
    }
  }
  if (!failed.ok()) return WithExitCode(absl::CancelledError(""), 1);
  return 0;
}

absl::StatusOr<int> Tag(CommandContext& context, const std::string& source,
                        const std::string& target) {
  ImageName name = ParseImageName(target);
  if (!name.digest.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Error parsing reference: \"", target, "\": a tag cannot carry a digest"));
  }
  GANTRY_RETURN_IF_ERROR(
      context.client()
          .Call("POST", absl::StrCat("/images/", source, "/tag?repo=", QueryEscape(name.name),
                                     "&tag=", QueryEscape(name.tag.empty() ? "latest" : name.tag)))
          .status());
  return 0;
}

void AddImagesCommand(CLI::App& parent, const std::string& name, CommandContext& context) {
  auto flags = std::make_shared<ImagesFlags>();
  CLI::App* images = parent.add_subcommand(name, "List images");
  images->add_option("repository", flags->repository, "REPOSITORY[:TAG]");
  images->add_flag("-a,--all", flags->all, "Show all images (default hides intermediate images)");
  images->add_flag("-q,--quiet", flags->quiet, "Only show image IDs");
  images->add_flag("--no-trunc", flags->no_trunc, "Don't truncate output");
  images->add_flag("--digests", flags->digests, "Show digests");
  AddRepeatable(*images, "-f,--filter", flags->filters,
                "Filter output based on conditions provided");
  images->add_option("--format", flags->format, "Format output using a custom template");
  context.OnRun(images, [&context, flags] { return Images(context, *flags); });
}

void AddPullCommand(CLI::App& parent, CommandContext& context) {
  auto flags = std::make_shared<PullFlags>();
  CLI::App* pull = parent.add_subcommand("pull", "Download an image from a registry");
  pull->add_option("image", flags->reference, "NAME[:TAG|@DIGEST]")->required();
  pull->add_flag("-q,--quiet", flags->quiet, "Suppress verbose output");
  context.OnRun(pull, [&context, flags] { return Pull(context, *flags); });
}

void AddPushCommand(CLI::App& parent, CommandContext& context) {
  auto flags = std::make_shared<PushFlags>();
  CLI::App* push = parent.add_subcommand("push", "Upload an image to a registry");
  push->add_option("image", flags->reference, "NAME[:TAG]")->required();
  push->add_flag("-a,--all-tags", flags->all_tags, "Push all tags of an image to the repository");
  push->add_flag("-q,--quiet", flags->quiet, "Suppress verbose output");
  context.OnRun(push, [&context, flags] { return Push(context, *flags); });
}

void AddRmiCommand(CLI::App& parent, const std::string& name, CommandContext& context) {
  auto flags = std::make_shared<RmiFlags>();
  CLI::App* rmi = parent.add_subcommand(name, "Remove one or more images");
  rmi->add_option("images", flags->images, "IMAGE [IMAGE...]")->required();
  rmi->add_flag("-f,--force", flags->force, "Force removal of the image");
  rmi->add_flag("--no-prune", flags->no_prune, "Do not delete untagged parents");
  context.OnRun(rmi, [&context, flags] { return Rmi(context, *flags); });
}

void AddTagCommand(CLI::App& parent, CommandContext& context) {
  auto names = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* tag =
      parent.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
  tag->add_option("source", names->first, "SOURCE_IMAGE[:TAG]")->required();
  tag->add_option("target", names->second, "TARGET_IMAGE[:TAG]")->required();
  context.OnRun(tag, [&context, names] { return Tag(context, names->first, names->second); });
}

}  // namespace

void AddImageCommands(CLI::App& app, CommandContext& context) {
  AddPullCommand(app, context);
  AddPushCommand(app, context);
  AddImagesCommand(app, "images", context);
  AddRmiCommand(app, "rmi", context);
  AddTagCommand(app, context);
  // docker's management form: gantry image ls|pull|rm|tag.
  CLI::App* image = app.add_subcommand("image", "Manage images");
  image->require_subcommand(1);
  AddImagesCommand(*image, "ls", context);
  AddPullCommand(*image, context);
  AddPushCommand(*image, context);
  AddImageArchiveCommands(*image, context);
  AddImagePruneCommand(*image, context);
  AddRmiCommand(*image, "rm", context);
  AddTagCommand(*image, context);
  AddInspectCommand(*image, context, "image");
}

}  // namespace gantry::cli
