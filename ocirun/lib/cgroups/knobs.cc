// File access shared by the controller implementations.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "ocirun/lib/cgroups/controllers.h"

namespace ocirun::cgroups {

absl::Status WriteKnob(const Dir& dir, const std::string& file, const std::string& value) {
  return gantry::Annotate(gantry::WriteExistingFile(dir.path + "/" + file, value),
                          absl::StrCat("cgroup: set ", file, " to \"", value, "\""));
}

std::string ReadKnob(const Dir& dir, const std::string& file) {
  auto text = gantry::ReadFile(dir.path + "/" + file);
  if (!text.ok()) return "";
  return std::string(absl::StripTrailingAsciiWhitespace(*text));
}

std::map<std::string, uint64_t> ReadFlatKeyed(const Dir& dir, const std::string& file) {
  std::map<std::string, uint64_t> out;
  for (absl::string_view line : absl::StrSplit(ReadKnob(dir, file), '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> kv = absl::StrSplit(line, ' ');
    uint64_t v;
    if (kv.size() == 2 && absl::SimpleAtoi(kv[1], &v)) out[std::string(kv[0])] = v;
  }
  return out;
}

}  // namespace ocirun::cgroups
