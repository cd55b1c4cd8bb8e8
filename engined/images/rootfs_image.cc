#include "engined/images/rootfs_image.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/digest.h"
#include "common/errors.h"
#include "contd/images/manifest.h"

namespace gantry::engined {
namespace {

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

// The tarball without its compression: the layer's diff ID is the digest
// of these bytes, and the layer is stored so.
absl::StatusOr<std::string> Decompressed(absl::string_view tarball) {
  std::unique_ptr<archive, ArchiveReadFree> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  archive_entry* entry = nullptr;
  if (archive_read_open_memory(a.get(), tarball.data(), tarball.size()) != ARCHIVE_OK ||
      archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("import: the tarball cannot be read: ", archive_error_string(a.get())));
  }
  std::string out;
  char buffer[1 << 16];
  for (;;) {
    const la_ssize_t n = archive_read_data(a.get(), buffer, sizeof buffer);
    if (n == 0) return out;
    if (n < 0) {
      return absl::InvalidArgumentError(absl::StrCat("import: the tarball cannot be decompressed: ",
                                                     archive_error_string(a.get())));
    }
    out.append(buffer, static_cast<size_t>(n));
  }
}

// Whether `layer` starts as a tar does (an empty tar is one).
absl::Status CheckTar(absl::string_view layer) {
  std::unique_ptr<archive, ArchiveReadFree> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  archive_entry* entry = nullptr;
  const bool opened = archive_read_open_memory(a.get(), layer.data(), layer.size()) == ARCHIVE_OK;
  const int header = opened ? archive_read_next_header(a.get(), &entry) : ARCHIVE_FATAL;
  if (header != ARCHIVE_OK && header != ARCHIVE_EOF) {
    return absl::InvalidArgumentError(
        absl::StrCat("import: the tarball is not a tar archive: ", archive_error_string(a.get())));
  }
  return absl::OkStatus();
}

// A small tar in memory (manifest.json, config, layer).
class TarBuilder {
 public:
  TarBuilder() : archive_(archive_write_new()) {
    archive_write_set_format_pax_restricted(archive_.get());
    archive_write_open(archive_.get(), this, nullptr, &TarBuilder::Append, nullptr);
  }
  absl::Status Add(const std::string& name, absl::string_view data) {
    std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
    if (archive_write_header(archive_.get(), entry.get()) != ARCHIVE_OK ||
        archive_write_data(archive_.get(), data.data(), data.size()) !=
            static_cast<la_ssize_t>(data.size())) {
      return absl::InternalError(
          absl::StrCat("import: writing ", name, ": ", archive_error_string(archive_.get())));
    }
    return absl::OkStatus();
  }
  std::string Finish() {
    archive_write_close(archive_.get());
    return std::move(bytes_);
  }

 private:
  static la_ssize_t Append(archive*, void* self, const void* data, size_t size) {
    static_cast<TarBuilder*>(self)->bytes_.append(static_cast<const char*>(data), size);
    return static_cast<la_ssize_t>(size);
  }
  std::unique_ptr<archive, ArchiveWriteFree> archive_;
  std::string bytes_;
};

absl::Status BadChange(absl::string_view change, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("import: change \"", change, "\": ", why));
}

// A CMD/ENTRYPOINT/VOLUME argument: the JSON array form, else the shell
// form (`sh -c` for commands, the words for volumes).
nlohmann::json Arguments(absl::string_view args, bool shell) {
  nlohmann::json parsed = nlohmann::json::parse(args, nullptr, false);
  if (parsed.is_array() &&
      std::all_of(parsed.begin(), parsed.end(), [](const auto& v) { return v.is_string(); })) {
    return parsed;
  }
  if (shell) return nlohmann::json::array({"/bin/sh", "-c", std::string(args)});
  nlohmann::json words = nlohmann::json::array();
  for (absl::string_view word : absl::StrSplit(args, ' ', absl::SkipEmpty())) {
    words.push_back(std::string(word));
  }
  return words;
}

// "A=b C=d" or, with one pair, the older "A b".
std::vector<std::pair<std::string, std::string>> Pairs(absl::string_view args) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (args.find('=') == absl::string_view::npos) {
    std::pair<std::string, std::string> pair = absl::StrSplit(args, absl::MaxSplits(' ', 1));
    pairs.emplace_back(pair.first, std::string(absl::StripAsciiWhitespace(pair.second)));
    return pairs;
  }
  for (absl::string_view word : absl::StrSplit(args, ' ', absl::SkipEmpty())) {
    std::pair<std::string, std::string> pair = absl::StrSplit(word, absl::MaxSplits('=', 1));
    pairs.emplace_back(pair.first,
                       std::string(absl::StripPrefix(absl::StripSuffix(pair.second, "\""), "\"")));
  }
  return pairs;
}

}  // namespace

absl::Status ApplyDockerfileChanges(const std::vector<std::string>& changes,
                                    nlohmann::json& config) {
  for (const std::string& change : changes) {
    absl::string_view text = absl::StripAsciiWhitespace(change);
    const size_t space = text.find_first_of(" \t");
    if (space == absl::string_view::npos) return BadChange(change, "no arguments");
    const std::string instruction = absl::AsciiStrToUpper(text.substr(0, space));
    const absl::string_view args = absl::StripAsciiWhitespace(text.substr(space));
    if (instruction == "CMD" || instruction == "ENTRYPOINT") {
      config[instruction == "CMD" ? "Cmd" : "Entrypoint"] = Arguments(args, /*shell=*/true);
    } else if (instruction == "ENV") {
      nlohmann::json& env = config["Env"];
      if (!env.is_array()) env = nlohmann::json::array();
      for (const auto& [key, value] : Pairs(args)) env.push_back(absl::StrCat(key, "=", value));
    } else if (instruction == "LABEL") {
      for (const auto& [key, value] : Pairs(args)) config["Labels"][key] = value;
    } else if (instruction == "EXPOSE") {
      for (absl::string_view port : absl::StrSplit(args, ' ', absl::SkipEmpty())) {
        const std::string spec = port.find('/') == absl::string_view::npos
                                     ? absl::StrCat(port, "/tcp")
                                     : std::string(port);
        config["ExposedPorts"][spec] = nlohmann::json::object();
      }
    } else if (instruction == "VOLUME") {
      for (const auto& path : Arguments(args, /*shell=*/false)) {
        config["Volumes"][path.get<std::string>()] = nlohmann::json::object();
      }
    } else if (instruction == "USER" || instruction == "WORKDIR" || instruction == "STOPSIGNAL") {
      const std::string key = instruction == "USER"      ? "User"
                              : instruction == "WORKDIR" ? "WorkingDir"
                                                         : "StopSignal";
      config[key] = std::string(args);
    } else {
      return BadChange(change, absl::StrCat(instruction, " is not a supported instruction"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RootfsImageArchive(absl::string_view tarball,
                                               const RootfsImageOptions& options) {
  GANTRY_ASSIGN_OR_RETURN(std::string layer, Decompressed(tarball));
  GANTRY_RETURN_IF_ERROR(CheckTar(layer));
  const Digest diff_id = Digest::FromBytes(layer);
  nlohmann::json container_config = nlohmann::json::object();
  GANTRY_RETURN_IF_ERROR(ApplyDockerfileChanges(options.changes, container_config));
  const contd::images::Platform platform = contd::images::HostPlatform();
  const std::string created =
      absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", options.created, absl::UTCTimeZone());
  const std::string message = options.message.empty() ? "Imported from -" : options.message;
  nlohmann::json config = {
      {"architecture", platform.architecture},
      {"os", platform.os},
      {"created", created},
      {"comment", message},
      {"config", container_config},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id.str()}}}},
      {"history", {{{"created", created}, {"comment", message}}}},
  };
  if (!platform.variant.empty()) config["variant"] = platform.variant;
  const std::string config_text = config.dump();
  const std::string config_name = Digest::FromBytes(config_text).hex() + ".json";
  const std::string layer_name = diff_id.hex() + "/layer.tar";
  nlohmann::json manifest = nlohmann::json::array({{
      {"Config", config_name},
      {"RepoTags", options.name.empty() ? nlohmann::json() : nlohmann::json::array({options.name})},
      {"Layers", {layer_name}},
  }});
  TarBuilder tar;
  GANTRY_RETURN_IF_ERROR(tar.Add(config_name, config_text));
  GANTRY_RETURN_IF_ERROR(tar.Add(layer_name, layer));
  GANTRY_RETURN_IF_ERROR(tar.Add("manifest.json", manifest.dump()));
  return tar.Finish();
}

}  // namespace gantry::engined
