#include "cli/commands/list_rows.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "cli/commands/image_pull.h"
#include "cli/format/ports.h"
#include "cli/format/template.h"
#include "cli/format/units.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

std::string ShortId(const std::string& id, bool no_trunc) {
  if (no_trunc) return id;
  return std::string(absl::StripPrefix(id, "sha256:")).substr(0, 12);
}

// "k=v,k2=v2" of a Labels object.
std::string JoinedLabels(const json& labels) {
  std::vector<std::string> out;
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) out.push_back(absl::StrCat(k, "=", GoString(v)));
  }
  return absl::StrJoin(out, ",");
}

}  // namespace

std::string Ellipsis(const std::string& text, size_t width) {
  size_t runes = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (++runes == width) {
      size_t end = i + 1;
      while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
      return end >= text.size() ? text : absl::StrCat(text.substr(0, i), "…");
    }
  }
  return text;
}

// The row docker's ps formatter shows for one container of /containers/json.
json ContainerRow(const json& c, bool no_trunc) {
  const std::string id = c.value("Id", "");
  std::string image = c.value("Image", "");
  if (!no_trunc && absl::StartsWith(image, "sha256:")) image = image.substr(7, 12);
  std::string command = c.value("Command", "");
  if (!no_trunc) command = Ellipsis(command, 20);
  std::vector<std::string> names;
  for (const json& name : c.value("Names", json::array())) {
    std::string n(absl::StripPrefix(name.get<std::string>(), "/"));
    // Link aliases ("/other/alias") only with --no-trunc.
    if (no_trunc || !absl::StrContains(n, "/")) names.push_back(n);
  }
  std::vector<std::string> mounts;
  for (const json& m : c.value("Mounts", json::array())) {
    std::string name = m.value("Name", "");
    if (name.empty()) name = m.value("Source", "");
    mounts.push_back(no_trunc ? name : Ellipsis(name, 15));
  }
  std::vector<std::string> networks;
  if (c.contains("NetworkSettings") && c["NetworkSettings"].is_object()) {
    const json network_map = c["NetworkSettings"].value("Networks", json::object());
    for (const auto& [k, v] : network_map.items()) {
      networks.push_back(k);
    }
  }
  const int64_t created = c.value("Created", int64_t{0});
  return {{"ID", no_trunc ? id : id.substr(0, 12)},
          {"Image", image},
          {"Command", json(command).dump()},
          {"CreatedAt", GoTimeString(created)},
          {"RunningFor", TimeAgo(created)},
          {"Ports", DisplayablePorts(c.value("Ports", json::array()))},
          {"State", c.value("State", "")},
          {"Status", c.value("Status", "")},
          {"Size", c.contains("SizeRw") ? HumanSize(c.value("SizeRw", 0.0), 3) : "0B"},
          {"Names", absl::StrJoin(names, ",")},
          {"Labels", JoinedLabels(c.value("Labels", json::object()))},
          {"Mounts", absl::StrJoin(mounts, ",")},
          {"Networks", absl::StrJoin(networks, ",")},
          {"LocalVolumes", std::to_string(mounts.size())},
          {"Platform", nullptr}};
}

const json& ContainerHeaders() {
  static const json* headers =
      new json{{"ID", "CONTAINER ID"},    {"Image", "IMAGE"},
               {"Command", "COMMAND"},    {"CreatedAt", "CREATED AT"},
               {"RunningFor", "CREATED"}, {"Ports", "PORTS"},
               {"State", "STATE"},        {"Status", "STATUS"},
               {"Size", "SIZE"},          {"Names", "NAMES"},
               {"Labels", "LABELS"},      {"Mounts", "MOUNTS"},
               {"Networks", "NETWORKS"},  {"LocalVolumes", "LOCAL VOLUMES"}};
  return *headers;
}

std::vector<json> ImageRows(const json& images, bool no_trunc, bool digest_rows) {
  std::vector<json> rows;
  for (const json& image : images) {
    const std::string id = image.value("Id", "");
    const int64_t created = image.value("Created", int64_t{0});
    json base = {{"ID", ShortId(id, no_trunc)},
                 {"CreatedSince", TimeAgo(created)},
                 {"CreatedAt", GoTimeString(created)},
                 {"Size", HumanSize(image.value("Size", 0.0), 3)},
                 {"VirtualSize", HumanSize(image.value("Size", 0.0))},
                 {"SharedSize", "N/A"},
                 {"UniqueSize", "N/A"},
                 {"Containers", "N/A"},
                 {"Digest", "<none>"}};
    // Known only from /system/df (-1 elsewhere).
    const double shared = image.value("SharedSize", -1.0);
    if (shared >= 0) {
      base["SharedSize"] = HumanSize(shared);
      base["UniqueSize"] = HumanSize(image.value("Size", 0.0) - shared);
    }
    if (const int64_t containers = image.value("Containers", int64_t{-1}); containers >= 0) {
      base["Containers"] = std::to_string(containers);
    }
    std::vector<std::string> tags;
    if (image.contains("RepoTags") && image["RepoTags"].is_array()) {
      for (const json& tag : image["RepoTags"]) {
        if (tag.is_string() && tag != "<none>:<none>") tags.push_back(tag);
      }
    }
    if (const json& digests = image.value("RepoDigests", json::array());
        digest_rows && digests.is_array() && !digests.empty() && digests[0].is_string()) {
      const std::string first = digests[0];
      base["Digest"] = first.substr(first.find('@') + 1);
    }
    if (tags.empty()) {
      json row = base;
      row["Repository"] = "<none>";
      row["Tag"] = "<none>";
      rows.push_back(row);
    }
    for (const std::string& tag : tags) {
      json row = base;
      ImageName name = ParseImageName(tag);
      row["Repository"] = name.name;
      row["Tag"] = name.tag.empty() ? "<none>" : name.tag;
      rows.push_back(row);
    }
  }
  return rows;
}

const json& ImageHeaders() {
  static const json* headers = new json{{"Repository", "REPOSITORY"},
                                        {"Tag", "TAG"},
                                        {"ID", "IMAGE ID"},
                                        {"CreatedSince", "CREATED"},
                                        {"CreatedAt", "CREATED AT"},
                                        {"Size", "SIZE"},
                                        {"VirtualSize", "VIRTUAL SIZE"},
                                        {"SharedSize", "SHARED SIZE"},
                                        {"UniqueSize", "UNIQUE SIZE"},
                                        {"Containers", "CONTAINERS"},
                                        {"Digest", "DIGEST"}};
  return *headers;
}

json VolumeRow(const json& volume) {
  json row = {{"Name", volume.value("Name", "")},
              {"Driver", volume.value("Driver", "")},
              {"Scope", volume.value("Scope", "")},
              {"Mountpoint", volume.value("Mountpoint", "")},
              {"Labels", JoinedLabels(volume.value("Labels", json::object()))},
              {"Links", "N/A"},
              {"Size", "N/A"},
              {"Group", "N/A"},
              {"Availability", "N/A"},
              {"Status", "N/A"}};
  if (const json usage = volume.value("UsageData", json()); usage.is_object()) {
    row["Links"] = GoString(usage.value("RefCount", json(-1)));
    row["Size"] = HumanSize(usage.value("Size", 0.0));
  }
  return row;
}

const json& VolumeHeaders() {
  static const json* headers = new json{{"Name", "VOLUME NAME"},
                                        {"Driver", "DRIVER"},
                                        {"Scope", "SCOPE"},
                                        {"Mountpoint", "MOUNTPOINT"},
                                        {"Labels", "LABELS"},
                                        {"Links", "LINKS"},
                                        {"Size", "SIZE"},
                                        {"Group", "GROUP"},
                                        {"Availability", "AVAILABILITY"},
                                        {"Status", "STATUS"}};
  return *headers;
}

json NetworkRow(const json& network, bool no_trunc) {
  const std::string id = network.value("Id", "");
  std::string created = network.value("Created", "");
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, created, &time, &error)) created = GoTimeString(time);
  auto boolean = [&network](const char* key) {
    return network.value(key, false) ? "true" : "false";
  };
  return {{"ID", no_trunc ? id : id.substr(0, 12)},
          {"Name", network.value("Name", "")},
          {"Driver", network.value("Driver", "")},
          {"Scope", network.value("Scope", "")},
          {"IPv4", boolean("EnableIPv4")},
          {"IPv6", boolean("EnableIPv6")},
          {"Internal", boolean("Internal")},
          {"Labels", JoinedLabels(network.value("Labels", json::object()))},
          {"CreatedAt", created}};
}

const json& NetworkHeaders() {
  static const json* headers =
      new json{{"ID", "NETWORK ID"},     {"Name", "NAME"},     {"Driver", "DRIVER"},
               {"Scope", "SCOPE"},       {"IPv4", "IPV4"},     {"IPv6", "IPV6"},
               {"Internal", "INTERNAL"}, {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"}};
  return *headers;
}

}  // namespace gantry::cli
