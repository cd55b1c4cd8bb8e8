#include "engined/images/image_service.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/proto_time.h"
#include "contd/registry/reference.h"

namespace gantry::engined {
namespace {

bool IsHex(absl::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
  });
}

// Docker's short form of a digest: the first 12 hex digits.
std::string ShortId(absl::string_view digest) {
  return std::string(absl::StripPrefix(digest, "sha256:").substr(0, 12));
}

bool IsLayer(absl::string_view media_type) {
  return absl::StrContains(media_type, ".layer.") || absl::StrContains(media_type, "rootfs");
}

absl::Status NoSuchImage(absl::string_view reference) {
  return absl::NotFoundError(absl::StrCat("No such image: ", reference));
}

// The Docker progress message for one contd pull event about a layer.
nlohmann::json LayerProgress(const contd::v1::PullImageProgress& event) {
  nlohmann::json message = {{"id", ShortId(event.digest())},
                            {"progressDetail", nlohmann::json::object()}};
  const std::string& status = event.status();
  if (status == "downloading") {
    message["status"] = "Downloading";
    message["progressDetail"] = {{"current", event.done()}, {"total", event.total()}};
  } else if (status == "exists") {
    message["status"] = "Already exists";
  } else if (status == "verifying") {
    message["status"] = "Verifying Checksum";
  } else if (status == "extracting") {
    message["status"] = "Extracting";
    if (event.total() > 0) {
      message["progressDetail"] = {{"current", event.done()}, {"total", event.total()}};
    }
  } else if (status == "done") {
    message["status"] = "Pull complete";
  } else {
    message["status"] = status;
  }
  return message;
}

}  // namespace

bool IsDanglingRecord(absl::string_view record_name) {
  return absl::ConsumePrefix(&record_name, kDanglingRepository) &&
         absl::StartsWith(record_name, "@");
}

std::string FamiliarName(absl::string_view normalized) {
  absl::string_view name = normalized;
  if (absl::ConsumePrefix(&name, "docker.io/")) absl::ConsumePrefix(&name, "library/");
  return std::string(name);
}

absl::StatusOr<std::string> NormalizeImageName(absl::string_view reference) {
  GANTRY_ASSIGN_OR_RETURN(registry::Reference parsed, registry::Reference::Parse(reference));
  if (parsed.tag().empty() && !parsed.digest().has_value()) {
    parsed = parsed.WithTag(registry::kDefaultTag);
  }
  return parsed.String();
}

void ImageService::Publish(const std::string& action, const std::string& id,
                           const std::string& name) {
  events_.Publish("image", action, id, {{"name", name}});
}

absl::StatusOr<std::vector<contd::v1::Image>> ImageService::Records() {
  contd::v1::ListImagesRequest request;
  contd::v1::ListImagesResponse response;
  auto context = ContdClient::Context();
  GANTRY_RETURN_IF_ERROR(
      FromGrpc(contd_.images().List(context.get(), request, &response), "list images"));
  return std::vector<contd::v1::Image>(response.images().begin(), response.images().end());
}

absl::StatusOr<ImageDetails> ImageService::Details(const contd::v1::Image& record) {
  ImageDetails details;
  details.target = record.target();
  GANTRY_ASSIGN_OR_RETURN(details.resolved, Resolve(record.target()));
  details.id = details.resolved.manifest.config.digest;
  details.records.push_back(record.name());
  if (!IsDanglingRecord(record.name())) details.names.push_back(record.name());
  absl::Time created;
  std::string error;
  details.created =
      absl::ParseTime(absl::RFC3339_full, details.resolved.config.created, &created, &error)
          ? created
          : TimeFromProto(record.created_at());
  for (const auto& layer : details.resolved.manifest.layers) details.size += layer.size;
  return details;
}

absl::StatusOr<contd::images::ResolvedImage> ImageService::Resolve(
    const contd::v1::Descriptor& target) {
  {
    std::lock_guard lock(resolved_mu_);
    if (auto it = resolved_.find(target.digest()); it != resolved_.end()) return it->second;
  }
  GANTRY_ASSIGN_OR_RETURN(
      contd::images::ResolvedImage resolved,
      contd::images::ResolveImage(
          [this](const contd::images::Descriptor& d) { return contd_.ReadBlob(d.digest); }, target,
          contd::images::HostPlatform()));
  std::lock_guard lock(resolved_mu_);
  resolved_.emplace(target.digest(), resolved);
  return resolved;
}

absl::StatusOr<nlohmann::json> ImageService::ConfigJson(const ImageDetails& image) {
  GANTRY_ASSIGN_OR_RETURN(std::string text, contd_.ReadBlob(image.id));
  nlohmann::json config = nlohmann::json::parse(text, nullptr, false);
  if (config.is_discarded()) {
    return absl::DataLossError(absl::StrCat(image.id, ": the image config is not JSON"));
  }
  return config;
}

absl::StatusOr<std::vector<ImageDetails>> ImageService::List() {
  GANTRY_ASSIGN_OR_RETURN(std::vector<contd::v1::Image> records, Records());
  std::map<std::string, ImageDetails> by_id;
  for (const contd::v1::Image& record : records) {
    absl::StatusOr<ImageDetails> details = Details(record);
    // An image whose content is incomplete (another platform, a pull
    // record without blobs) is not runnable here; Docker hides it too.
    if (!details.ok()) continue;
    auto [it, inserted] = by_id.emplace(details->id, *details);
    if (inserted) continue;
    it->second.records.push_back(record.name());
    if (!IsDanglingRecord(record.name())) it->second.names.push_back(record.name());
  }
  std::vector<ImageDetails> images;
  for (auto& [id, details] : by_id) images.push_back(std::move(details));
  std::sort(images.begin(), images.end(),
            [](const ImageDetails& a, const ImageDetails& b) { return a.created > b.created; });
  return images;
}

absl::StatusOr<ImageDetails> ImageService::Find(absl::string_view reference) {
  absl::StatusOr<std::string> name = NormalizeImageName(reference);
  if (name.ok()) {
    contd::v1::GetImageRequest request;
    request.set_name(*name);
    contd::v1::GetImageResponse response;
    auto context = ContdClient::Context();
    grpc::Status status = contd_.images().Get(context.get(), request, &response);
    if (status.ok()) {
      GANTRY_ASSIGN_OR_RETURN(ImageDetails details, Details(response.image()));
      // Every name of the image, not only the one asked for.
      GANTRY_ASSIGN_OR_RETURN(std::vector<ImageDetails> all, List());
      for (ImageDetails& image : all) {
        if (image.id == details.id) return std::move(image);
      }
      return details;
    }
    if (status.error_code() != grpc::StatusCode::NOT_FOUND) return FromGrpc(status, reference);
  }
  absl::string_view id = reference;
  absl::ConsumePrefix(&id, "sha256:");
  if (!IsHex(id)) return NoSuchImage(reference);
  GANTRY_ASSIGN_OR_RETURN(std::vector<ImageDetails> images, List());
  std::vector<ImageDetails*> matches;
  for (ImageDetails& image : images) {
    if (absl::StartsWith(absl::StripPrefix(image.id, "sha256:"), id)) matches.push_back(&image);
  }
  if (matches.empty()) return NoSuchImage(reference);
  if (matches.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("image ID prefix ", reference, " is ambiguous: ", matches.size(), " images"));
  }
  return std::move(*matches.front());
}

absl::Status ImageService::Pull(absl::string_view reference,
                                const std::function<void(const nlohmann::json&)>& progress) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, NormalizeImageName(reference));
  GANTRY_ASSIGN_OR_RETURN(registry::Reference parsed, registry::Reference::Parse(name));
  progress(
      nlohmann::json{{"status", absl::StrCat("Pulling from ", FamiliarName(parsed.Name()))},
                     {"id", parsed.digest().has_value() ? parsed.digest()->str() : parsed.tag()}});
  const absl::StatusOr<ImageDetails> before = Find(name);
  GANTRY_ASSIGN_OR_RETURN(const std::vector<ImageDetails> images_before, List());

  contd::v1::PullImageRequest request;
  request.set_reference(name);
  request.set_snapshotter(kSnapshotter);
  auto context = ContdClient::Context(absl::InfiniteDuration());
  auto stream = contd_.images().Pull(context.get(), request);
  contd::v1::PullImageProgress event;
  std::string manifest_digest;
  while (stream->Read(&event)) {
    if (event.has_image()) manifest_digest = event.image().target().digest();
    if (IsLayer(event.media_type())) progress(LayerProgress(event));
  }
  GANTRY_RETURN_IF_ERROR(FromGrpc(stream->Finish(), absl::StrCat("pull ", reference)));
  GANTRY_RETURN_IF_ERROR(KeepDangling(images_before));
  Publish("pull", FamiliarName(name), FamiliarName(name));
  progress(nlohmann::json{{"status", absl::StrCat("Digest: ", manifest_digest)}});
  const bool unchanged = before.ok() && before->target.digest() == manifest_digest;
  progress(nlohmann::json{{"status", absl::StrCat(unchanged ? "Status: Image is up to date for "
                                                            : "Status: Downloaded newer image for ",
                                                  FamiliarName(name))}});
  return absl::OkStatus();
}

absl::Status ImageService::Push(absl::string_view reference,
                                const std::function<void(const nlohmann::json&)>& progress) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, NormalizeImageName(reference));
  GANTRY_ASSIGN_OR_RETURN(registry::Reference parsed, registry::Reference::Parse(name));
  GANTRY_ASSIGN_OR_RETURN(ImageDetails image, Find(name));
  progress(nlohmann::json{
      {"status", absl::StrCat("The push refers to repository [", parsed.Name(), "]")}});
  contd::v1::PushImageRequest request;
  request.set_name(name);
  auto context = ContdClient::Context(absl::InfiniteDuration());
  auto stream = contd_.images().Push(context.get(), request);
  contd::v1::PushImageProgress event;
  std::string manifest_digest;
  // The target is pushed as stored, so its size is the record's.
  const int64_t manifest_size = image.target.size();
  while (stream->Read(&event)) {
    if (!event.manifest_digest().empty()) manifest_digest = event.manifest_digest();
    if (!IsLayer(event.media_type())) continue;
    const std::string id = ShortId(event.digest());
    if (event.status() == "pushing") {
      progress(nlohmann::json{
          {"status", "Preparing"}, {"progressDetail", nlohmann::json::object()}, {"id", id}});
    } else if (event.status() == "pushed" || event.status() == "exists") {
      progress(
          nlohmann::json{{"status", event.status() == "exists" ? "Layer already exists" : "Pushed"},
                         {"progressDetail", nlohmann::json::object()},
                         {"id", id}});
    }
  }
  GANTRY_RETURN_IF_ERROR(FromGrpc(stream->Finish(), absl::StrCat("push ", reference)));
  const std::string tag = parsed.tag().empty() ? std::string(registry::kDefaultTag) : parsed.tag();
  progress(nlohmann::json{
      {"status", absl::StrCat(tag, ": digest: ", manifest_digest, " size: ", manifest_size)}});
  progress(nlohmann::json{
      {"progressDetail", nlohmann::json::object()},
      {"aux", {{"Tag", tag}, {"Digest", manifest_digest}, {"Size", manifest_size}}}});
  return absl::OkStatus();
}

absl::Status ImageService::Tag(absl::string_view source, absl::string_view target_reference) {
  GANTRY_ASSIGN_OR_RETURN(ImageDetails image, Find(source));
  GANTRY_ASSIGN_OR_RETURN(std::string name, NormalizeImageName(target_reference));
  contd::v1::Image record;
  record.set_name(name);
  *record.mutable_target() = image.target;
  contd::v1::CreateImageRequest create;
  *create.mutable_image() = record;
  contd::v1::CreateImageResponse created;
  auto context = ContdClient::Context();
  grpc::Status status = contd_.images().Create(context.get(), create, &created);
  if (status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
    GANTRY_RETURN_IF_ERROR(FromGrpc(status, absl::StrCat("tag ", target_reference)));
    Publish("tag", image.id, FamiliarName(name));
    return absl::OkStatus();
  }
  contd::v1::UpdateImageRequest update;
  *update.mutable_image() = record;
  update.mutable_update_mask()->add_paths("target");
  contd::v1::UpdateImageResponse updated;
  GANTRY_ASSIGN_OR_RETURN(const std::vector<ImageDetails> before, List());
  auto update_context = ContdClient::Context();
  GANTRY_RETURN_IF_ERROR(FromGrpc(contd_.images().Update(update_context.get(), update, &updated),
                                  absl::StrCat("tag ", target_reference)));
  Publish("tag", image.id, FamiliarName(name));
  return KeepDangling(before);
}

absl::Status ImageService::KeepDangling(const std::vector<ImageDetails>& before) {
  GANTRY_ASSIGN_OR_RETURN(const std::vector<ImageDetails> after, List());
  for (const ImageDetails& image : before) {
    const bool kept = std::any_of(after.begin(), after.end(),
                                  [&](const ImageDetails& now) { return now.id == image.id; });
    if (!kept) GANTRY_RETURN_IF_ERROR(DanglingRecord(image).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ImageService::DanglingRecord(const ImageDetails& image) {
  const std::string name = absl::StrCat(kDanglingRepository, "@", image.target.digest());
  contd::v1::CreateImageRequest request;
  request.mutable_image()->set_name(name);
  *request.mutable_image()->mutable_target() = image.target;
  contd::v1::CreateImageResponse response;
  auto context = ContdClient::Context();
  grpc::Status status = contd_.images().Create(context.get(), request, &response);
  if (status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
    GANTRY_RETURN_IF_ERROR(FromGrpc(status, absl::StrCat("keep image ", image.id, " dangling")));
  }
  return name;
}

absl::StatusOr<nlohmann::json> ImageService::Remove(absl::string_view reference, bool force,
                                                    const ImageUserFn& user) {
  GANTRY_ASSIGN_OR_RETURN(ImageDetails image, Find(reference));
  return RemoveImage(image, reference, force, user);
}

absl::StatusOr<nlohmann::json> ImageService::RemoveImage(const ImageDetails& image,
                                                         absl::string_view reference, bool force,
                                                         const ImageUserFn& user) {
  absl::StatusOr<std::string> asked_name = NormalizeImageName(reference);
  const bool by_name = asked_name.ok() && std::find(image.names.begin(), image.names.end(),
                                                    *asked_name) != image.names.end();
  // A name is untagged alone while the image keeps other names; an ID (or
  // the last name) removes the image, which a container may still need.
  std::vector<std::string> untag =
      by_name && image.names.size() > 1 ? std::vector<std::string>{*asked_name} : image.names;
  bool deletes_image = untag.size() == image.names.size();
  const std::optional<ImageUser> used_by = deletes_image ? user(image.id) : std::nullopt;
  if (used_by.has_value() && (!force || (used_by->running && !by_name))) {
    const std::string container = used_by->container_id.substr(0, 12);
    if (by_name) {
      return absl::FailedPreconditionError(
          absl::StrCat("conflict: unable to remove repository reference \"", reference,
                       "\" (must force) - container ", container, " is using its referenced image ",
                       ShortId(image.id)));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "conflict: unable to delete ", ShortId(image.id),
        used_by->running ? " (cannot be forced) - image is being used by running container "
                         : " (must be forced) - image is being used by stopped container ",
        container));
  }
  if (!by_name && image.names.size() > 1 && !force) {
    return absl::FailedPreconditionError(
        absl::StrCat("conflict: unable to delete ", ShortId(image.id),
                     " (must be forced) - image is referenced in multiple repositories"));
  }
  // Forced off a running container's image, the names go and the image
  // stays, dangling.
  if (used_by.has_value() && used_by->running) {
    GANTRY_RETURN_IF_ERROR(DanglingRecord(image).status());
    deletes_image = false;
  }
  nlohmann::json records = nlohmann::json::array();
  for (const std::string& name : deletes_image ? image.records : untag) {
    contd::v1::DeleteImageRequest request;
    request.set_name(name);
    request.set_sync(true);
    google::protobuf::Empty empty;
    auto context = ContdClient::Context();
    GANTRY_RETURN_IF_ERROR(FromGrpc(contd_.images().Delete(context.get(), request, &empty), name));
    if (IsDanglingRecord(name)) continue;
    records.push_back({{"Untagged", FamiliarName(name)}});
    Publish("untag", image.id, FamiliarName(name));
  }
  if (deletes_image) {
    records.push_back({{"Deleted", image.id}});
    Publish("delete", image.id, image.id);
  }
  return records;
}

absl::StatusOr<PruneReport> ImageService::Prune(
    const std::function<bool(const ImageDetails&)>& selected, const ImageUserFn& user) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<ImageDetails> images, List());
  PruneReport report;
  for (const ImageDetails& image : images) {
    if (!selected(image) || user(image.id).has_value()) continue;
    GANTRY_ASSIGN_OR_RETURN(nlohmann::json records,
                            RemoveImage(image, image.id, /*force=*/true, user));
    for (nlohmann::json& record : records) report.deleted.push_back(std::move(record));
    report.space_reclaimed += image.size;
  }
  events_.Publish("image", "prune", "", {{"reclaimed", std::to_string(report.space_reclaimed)}});
  return report;
}

absl::StatusOr<std::vector<std::string>> ImageService::ExportNames(
    const std::vector<std::string>& references) {
  std::vector<std::string> names;
  for (const std::string& reference : references) {
    GANTRY_ASSIGN_OR_RETURN(ImageDetails image, Find(reference));
    absl::StatusOr<std::string> name = NormalizeImageName(reference);
    const bool by_name =
        name.ok() && std::find(image.names.begin(), image.names.end(), *name) != image.names.end();
    if (by_name) {
      names.push_back(*name);
      continue;
    }
    // By ID the archive leaves the image unnamed, as Docker's: exported
    // under its dangling record (a digest, no RepoTags), it loads dangling.
    GANTRY_ASSIGN_OR_RETURN(std::string dangling, DanglingRecord(image));
    names.push_back(std::move(dangling));
  }
  return names;
}

absl::Status ImageService::Export(const std::vector<std::string>& names,
                                  const std::function<absl::Status(absl::string_view)>& write) {
  contd::v1::ExportImageRequest request;
  for (const std::string& name : names) request.add_names(name);
  auto context = ContdClient::Context(absl::InfiniteDuration());
  auto stream = contd_.images().Export(context.get(), request);
  contd::v1::ExportImageChunk chunk;
  while (stream->Read(&chunk)) {
    if (absl::Status written = write(chunk.data()); !written.ok()) {
      context->TryCancel();
      (void)stream->Finish();
      return written;
    }
  }
  GANTRY_RETURN_IF_ERROR(FromGrpc(stream->Finish(), "export images"));
  for (const std::string& name : names) {
    if (!IsDanglingRecord(name)) Publish("save", FamiliarName(name), FamiliarName(name));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LoadedImage>> ImageService::Load(const std::string& archive) {
  constexpr size_t kChunk = 1 << 20;
  GANTRY_ASSIGN_OR_RETURN(const std::vector<ImageDetails> before, List());
  auto context = ContdClient::Context(absl::InfiniteDuration());
  auto stream = contd_.images().Import(context.get());
  contd::v1::ImportImageRequest first;
  first.set_snapshotter(kSnapshotter);
  first.set_base_name(kDanglingRepository);
  bool writing = stream->Write(first);
  for (size_t at = 0; writing && at < archive.size(); at += kChunk) {
    contd::v1::ImportImageRequest chunk;
    chunk.set_data(archive.substr(at, kChunk));
    writing = stream->Write(chunk);
  }
  stream->WritesDone();
  contd::v1::ImportImageProgress event;
  std::vector<contd::v1::Image> records;
  while (stream->Read(&event)) {
    if (event.images_size() > 0) records.assign(event.images().begin(), event.images().end());
  }
  GANTRY_RETURN_IF_ERROR(FromGrpc(stream->Finish(), "load images"));
  GANTRY_RETURN_IF_ERROR(KeepDangling(before));
  std::vector<LoadedImage> loaded;
  for (const contd::v1::Image& record : records) {
    GANTRY_ASSIGN_OR_RETURN(ImageDetails details, Details(record));
    loaded.push_back(
        {.name = details.names.empty() ? "" : details.names.front(), .id = details.id});
    const std::string shown =
        details.names.empty() ? details.id : FamiliarName(details.names.front());
    Publish("load", shown, shown);
  }
  return loaded;
}

absl::StatusOr<std::string> ImageService::ImportRootfs(absl::string_view tarball,
                                                       const RootfsImageOptions& options) {
  GANTRY_ASSIGN_OR_RETURN(const std::string archive, RootfsImageArchive(tarball, options));
  GANTRY_ASSIGN_OR_RETURN(std::vector<LoadedImage> loaded, Load(archive));
  if (loaded.size() != 1) {
    return absl::InternalError(
        absl::StrCat("import: the archive loaded ", loaded.size(), " images, not one"));
  }
  Publish("import", loaded.front().id, loaded.front().id);
  return loaded.front().id;
}

}  // namespace gantry::engined
