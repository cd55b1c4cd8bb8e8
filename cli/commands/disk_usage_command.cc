// gantry system df: docker's summary of what images, containers, volumes
// and the build cache take (and with -v each of them), from /system/df.
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/commands/command_context.h"
#include "cli/commands/list_rows.h"
#include "cli/format/table.h"
#include "cli/format/units.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

struct DiskUsageFlags {
  bool verbose = false;
  std::string format;
};

constexpr char kSummaryTable[] =
    "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";

// "12.3MB (45%)", the percentage left out when nothing is used.
std::string Reclaimable(int64_t reclaimable, int64_t total) {
  if (total > 0)
    return absl::StrCat(HumanSize(double(reclaimable)), " (", reclaimable * 100 / total, "%)");
  return HumanSize(double(reclaimable));
}

json SummaryRow(const std::string& type, size_t total, int64_t active, int64_t size,
                const std::string& reclaimable) {
  return {{"Type", type},
          {"TotalCount", std::to_string(total)},
          {"Active", std::to_string(active)},
          {"Size", HumanSize(double(size))},
          {"Reclaimable", reclaimable}};
}

std::vector<json> SummaryRows(const json& usage) {
  const json images = usage.value("Images", json::array());
  const json containers = usage.value("Containers", json::array());
  const json volumes = usage.value("Volumes", json::array());
  const json cache = usage.value("BuildCache", json::array());
  std::vector<json> rows;

  const int64_t layers = usage.value("LayersSize", int64_t{0});
  int64_t active = 0, used = 0;
  for (const json& image : images) {
    if (image.value("Containers", int64_t{0}) == 0) continue;
    ++active;
    used += image.value("Size", int64_t{0}) - image.value("SharedSize", int64_t{0});
  }
  rows.push_back(
      SummaryRow("Images", images.size(), active, layers, Reclaimable(layers - used, layers)));

  active = 0;
  int64_t size = 0, reclaimable = 0;
  for (const json& c : containers) {
    const std::string state = c.value("State", "");
    const int64_t rw = c.value("SizeRw", int64_t{0});
    size += rw;
    if (state == "running" || state == "paused") {
      ++active;
    } else {
      reclaimable += rw;
    }
  }
  rows.push_back(
      SummaryRow("Containers", containers.size(), active, size, Reclaimable(reclaimable, size)));

  active = size = reclaimable = 0;
  for (const json& volume : volumes) {
    const json data = volume.value("UsageData", json::object());
    const int64_t bytes = std::max<int64_t>(data.value("Size", int64_t{0}), 0);
    size += bytes;
    if (data.value("RefCount", int64_t{0}) > 0) {
      ++active;
    } else {
      reclaimable += bytes;
    }
  }
  rows.push_back(
      SummaryRow("Local Volumes", volumes.size(), active, size, Reclaimable(reclaimable, size)));

  active = size = reclaimable = 0;
  for (const json& record : cache) {
    const int64_t bytes = record.value("Shared", false) ? 0 : record.value("Size", int64_t{0});
    size += bytes;
    if (record.value("InUse", false)) {
      ++active;
    } else {
      reclaimable += bytes;
    }
  }
  rows.push_back(
      SummaryRow("Build Cache", cache.size(), active, size, HumanSize(double(reclaimable))));
  return rows;
}

// docker system df -v: a table per kind.
absl::StatusOr<std::string> Verbose(const json& usage) {
  std::string out = "Images space usage:\n\n";
  GANTRY_ASSIGN_OR_RETURN(
      std::string images,
      FormatList("", ImageRows(usage.value("Images", json::array()), false, false), ImageHeaders(),
                 "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t"
                 "{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}"));
  absl::StrAppend(&out, images, "\nContainers space usage:\n\n");
  std::vector<json> container_rows;
  for (const json& c : usage.value("Containers", json::array())) {
    container_rows.push_back(ContainerRow(c, false));
  }
  GANTRY_ASSIGN_OR_RETURN(
      std::string containers,
      FormatList("", container_rows, ContainerHeaders(),
                 "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t"
                 "{{.RunningFor}}\t{{.Status}}\t{{.Names}}"));
  absl::StrAppend(&out, containers, "\nLocal Volumes space usage:\n\n");
  std::vector<json> volume_rows;
  for (const json& volume : usage.value("Volumes", json::array())) {
    const json data = volume.value("UsageData", json::object());
    volume_rows.push_back({{"Name", volume.value("Name", "")},
                           {"Links", std::to_string(data.value("RefCount", int64_t{0}))},
                           {"Size", HumanSize(double(data.value("Size", int64_t{0})))}});
  }
  GANTRY_ASSIGN_OR_RETURN(
      std::string volumes,
      FormatList("", volume_rows, {{"Name", "VOLUME NAME"}, {"Links", "LINKS"}, {"Size", "SIZE"}},
                 "table {{.Name}}\t{{.Links}}\t{{.Size}}"));
  int64_t cache_size = 0;
  for (const json& record : usage.value("BuildCache", json::array())) {
    if (!record.value("Shared", false)) cache_size += record.value("Size", int64_t{0});
  }
  absl::StrAppend(&out, volumes, "\nBuild cache usage: ", HumanSize(double(cache_size)), "\n\n");
  // Build records are not kept by engined: the header alone.
  GANTRY_ASSIGN_OR_RETURN(
      std::string cache,
      FormatList("", {},
                 {{"ID", "CACHE ID"},
                  {"CacheType", "CACHE TYPE"},
                  {"Size", "SIZE"},
                  {"CreatedSince", "CREATED"},
                  {"LastUsedSince", "LAST USED"},
                  {"UsageCount", "USAGE"},
                  {"Shared", "SHARED"}},
                 "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t"
                 "{{.UsageCount}}\t{{.Shared}}"));
  absl::StrAppend(&out, cache);
  return out;
}

absl::StatusOr<int> DiskUsage(CommandContext& context, const DiskUsageFlags& flags) {
  GANTRY_ASSIGN_OR_RETURN(json usage, context.client().CallJson("GET", "/system/df"));
  std::string text;
  if (flags.verbose && flags.format.empty()) {
    GANTRY_ASSIGN_OR_RETURN(text, Verbose(usage));
  } else {
    GANTRY_ASSIGN_OR_RETURN(text, FormatList(flags.format, SummaryRows(usage),
                                             {{"Type", "TYPE"},
                                              {"TotalCount", "TOTAL"},
                                              {"Active", "ACTIVE"},
                                              {"Size", "SIZE"},
                                              {"Reclaimable", "RECLAIMABLE"}},
                                             kSummaryTable));
  }
  std::cout << text;
  return 0;
}

}  // namespace

void AddDiskUsageCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<DiskUsageFlags>();
  CLI::App* df = app.add_subcommand("df", "Show engined's disk usage");
  df->add_flag("-v,--verbose", flags->verbose, "Show detailed information on space usage");
  df->add_option("--format", flags->format, "Format output using a custom template");
  context.OnRun(df, [&context, flags] { return DiskUsage(context, *flags); });
}

}  // namespace gantry::cli
