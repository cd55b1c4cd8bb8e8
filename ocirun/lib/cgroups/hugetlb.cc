#include <dirent.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
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

void HugetlbStats(const Dir& dir, nlohmann::json& out) {
  // One entry per page size the kernel offers ("hugetlb.2MB.*"), as runc reports.
  nlohmann::json sizes = nlohmann::json::object();
  DIR* d = ::opendir(dir.path.c_str());
  if (!d) return;
  bool v1 = dir.version == Version::kV1;
  std::string suffix = v1 ? ".usage_in_bytes" : ".current";
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (!absl::StartsWith(name, "hugetlb.") || !absl::EndsWith(name, suffix)) continue;
    std::string size = name.substr(8, name.size() - 8 - suffix.size());
    if (size.find('.') != std::string::npos) continue;  // rsvd.* files
    uint64_t usage = 0, max = 0, failcnt = 0;
    (void)absl::SimpleAtoi(ReadKnob(dir, name), &usage);
    if (v1) {
      (void)absl::SimpleAtoi(ReadKnob(dir, "hugetlb." + size + ".max_usage_in_bytes"), &max);
      (void)absl::SimpleAtoi(ReadKnob(dir, "hugetlb." + size + ".failcnt"), &failcnt);
    } else {
      for (const auto& [k, v] : ReadFlatKeyed(dir, "hugetlb." + size + ".events"))
        if (k == "max") failcnt = v;
    }
    sizes[size] = {{"usage", usage}, {"max", max}, {"failcnt", failcnt}};
  }
  ::closedir(d);
  out["hugetlb"] = sizes;
}

}  // namespace ocirun::cgroups
