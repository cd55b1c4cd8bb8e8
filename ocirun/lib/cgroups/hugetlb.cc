#include "absl/strings/str_cat.h"
#include "ocirun/lib/cgroups/controllers.h"

namespace ocirun::cgroups {

absl::Status SetHugetlb(const Dir& dir, const std::vector<Resources::HugepageLimit>& limits) {
  for (const auto& l : limits) {
    std::string file = dir.version == Version::kV1
                           ? absl::StrCat("hugetlb.", l.page_size, ".limit_in_bytes")
                           : absl::StrCat("hugetlb.", l.page_size, ".max");
    GANTRY_RETURN_IF_ERROR(WriteKnob(dir, file, std::to_string(l.limit)));
  }
  return absl::OkStatus();
}

}  // namespace ocirun::cgroups
