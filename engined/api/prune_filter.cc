#include "engined/api/prune_filter.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gantry::engined {

bool HasLabel(const nlohmann::json& labels, const std::string& filter) {
  const size_t eq = filter.find('=');
  const std::string key = filter.substr(0, eq);
  if (!labels.is_object() || !labels.contains(key)) return false;
  return eq == std::string::npos || labels[key] == filter.substr(eq + 1);
}

namespace {

absl::StatusOr<absl::Time> UntilTime(const std::string& value, absl::Time now) {
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) return absl::FromUnixSeconds(seconds);
  absl::Duration ago;
  if (absl::ParseDuration(value, &ago)) return now - ago;
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, value, &time, &error)) return time;
  return absl::InvalidArgumentError(
      absl::StrCat("failed to parse value of filter until: \"", value, "\" is not a time"));
}

}  // namespace

absl::StatusOr<PruneFilter> PruneFilter::From(const Filters& filters, absl::Time now,
                                              const std::set<std::string>& known) {
  PruneFilter filter;
  for (const auto& [name, values] : filters) {
    if (name == "label") {
      filter.labels_ = values;
    } else if (name == "label!") {
      filter.not_labels_ = values;
    } else if (name == "until") {
      if (values.size() != 1) {
        return absl::InvalidArgumentError("filter until: give one time, not several");
      }
      absl::StatusOr<absl::Time> until = UntilTime(*values.begin(), now);
      if (!until.ok()) return until.status();
      filter.until_ = *until;
    } else if (known.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter '", name, "'"));
    }
  }
  return filter;
}

bool PruneFilter::Matches(const nlohmann::json& labels, absl::Time created) const {
  if (until_.has_value() && created >= *until_) return false;
  const auto has = [&](const std::string& f) { return HasLabel(labels, f); };
  return std::all_of(labels_.begin(), labels_.end(), has) &&
         std::none_of(not_labels_.begin(), not_labels_.end(), has);
}

}  // namespace gantry::engined
