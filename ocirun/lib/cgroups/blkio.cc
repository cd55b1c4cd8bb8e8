#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ocirun/lib/cgroups/controllers.h"

namespace ocirun::cgroups {

absl::Status SetBlkio(const Dir& dir, const Resources::BlockIo& block_io) {
  Resources::BlockIo io = block_io;
  ZeroMeansUnset(io.weight);
  ZeroMeansUnset(io.leaf_weight);
  bool v1 = dir.version == Version::kV1;
  if (io.weight) {
    // v2's io.weight is 1..10000 where v1's blkio.weight is 10..1000.
    std::string value = v1 ? std::to_string(*io.weight)
                           : absl::StrCat("default ", 1 + (*io.weight - 10) * 9999 / 990);
    // Kernels without CFQ have only BFQ's weight file on v1.
    std::string file = !v1 ? "io.weight"
                       : ::access((dir.path + "/blkio.weight").c_str(), F_OK) == 0
                           ? "blkio.weight"
                           : "blkio.bfq.weight";
    GANTRY_RETURN_IF_ERROR(WriteKnob(dir, file, value));
  }
  if (io.leaf_weight && v1)
    GANTRY_RETURN_IF_ERROR(WriteKnob(dir, "blkio.leaf_weight", std::to_string(*io.leaf_weight)));
  for (const auto& d : io.weight_device) {
    if (d.weight)
      GANTRY_RETURN_IF_ERROR(WriteKnob(dir, v1 ? "blkio.weight_device" : "io.weight",
                                       absl::StrCat(d.major, ":", d.minor, " ", *d.weight)));
  }
  struct Throttle {
    const std::vector<ThrottleDevice>* devices;
    const char* v1_file;
    const char* v2_key;
  };
  const Throttle throttles[] = {
      {&io.throttle_read_bps, "blkio.throttle.read_bps_device", "rbps"},
      {&io.throttle_write_bps, "blkio.throttle.write_bps_device", "wbps"},
      {&io.throttle_read_iops, "blkio.throttle.read_iops_device", "riops"},
      {&io.throttle_write_iops, "blkio.throttle.write_iops_device", "wiops"},
  };
  for (const auto& t : throttles) {
    for (const auto& d : *t.devices) {
      if (v1)
        GANTRY_RETURN_IF_ERROR(
            WriteKnob(dir, t.v1_file, absl::StrCat(d.major, ":", d.minor, " ", d.rate)));
      else
        GANTRY_RETURN_IF_ERROR(WriteKnob(
            dir, "io.max", absl::StrCat(d.major, ":", d.minor, " ", t.v2_key, "=", d.rate)));
    }
  }
  return absl::OkStatus();
}

namespace {

// One entry of runc's blkio stats: {"major","minor","op","value"}.
nlohmann::json Entry(absl::string_view device, absl::string_view op, uint64_t value) {
  std::vector<absl::string_view> mm = absl::StrSplit(device, ':');
  uint64_t major = 0, minor = 0;
  if (mm.size() == 2) {
    (void)absl::SimpleAtoi(mm[0], &major);
    (void)absl::SimpleAtoi(mm[1], &minor);
  }
  return {{"major", major}, {"minor", minor}, {"op", std::string(op)}, {"value", value}};
}

// v1 "8:0 Read 4096" lines (the "Total" summary line has no device).
nlohmann::json V1Entries(const Dir& dir, const std::string& file) {
  nlohmann::json entries = nlohmann::json::array();
  for (absl::string_view line : absl::StrSplit(ReadKnob(dir, file), '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    uint64_t value;
    if (f.size() == 3 && absl::SimpleAtoi(f[2], &value))
      entries.push_back(Entry(f[0], f[1], value));
  }
  return entries;
}

}  // namespace

void BlkioStats(const Dir& dir, nlohmann::json& out) {
  nlohmann::json bytes = nlohmann::json::array(), ios = nlohmann::json::array();
  if (dir.version == Version::kV1) {
    bytes = V1Entries(dir, "blkio.throttle.io_service_bytes_recursive");
    ios = V1Entries(dir, "blkio.throttle.io_serviced_recursive");
  } else {
    // v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0".
    for (absl::string_view line :
         absl::StrSplit(ReadKnob(dir, "io.stat"), '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.empty()) continue;
      for (size_t i = 1; i < f.size(); ++i) {
        std::vector<absl::string_view> kv = absl::StrSplit(f[i], '=');
        uint64_t value;
        if (kv.size() != 2 || !absl::SimpleAtoi(kv[1], &value)) continue;
        if (kv[0] == "rbytes") bytes.push_back(Entry(f[0], "Read", value));
        if (kv[0] == "wbytes") bytes.push_back(Entry(f[0], "Write", value));
        if (kv[0] == "rios") ios.push_back(Entry(f[0], "Read", value));
        if (kv[0] == "wios") ios.push_back(Entry(f[0], "Write", value));
      }
    }
  }
  out["blkio"] = {{"ioServiceBytesRecursive", bytes}, {"ioServicedRecursive", ios}};
}

}  // namespace ocirun::cgroups
