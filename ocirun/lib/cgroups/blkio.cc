#include <unistd.h>

#include "absl/strings/str_cat.h"
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

}  // namespace ocirun::cgroups
