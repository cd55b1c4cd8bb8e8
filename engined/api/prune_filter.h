// The filters of /containers/prune and /images/prune, as Docker reads
// them: every `label` ("key" or "key=value") must match, no `label!` may,
// and `until` (a Unix time, an RFC 3339 time or a duration before now,
// "24h") keeps what was created after it.
#pragma once

#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engined/api/query.h"

namespace gantry::engined {

// Whether `labels` (a JSON object of strings) has the label a `label`
// filter names: "key" or "key=value".
bool HasLabel(const nlohmann::json& labels, const std::string& filter);

class PruneFilter {
 public:
  // INVALID_ARGUMENT for an `until` that is no time, or a filter a prune
  // does not know (other than the `known` ones the caller reads itself).
  static absl::StatusOr<PruneFilter> From(const Filters& filters, absl::Time now,
                                          const std::set<std::string>& known = {});

  // Whether an object with `labels` (a JSON object of strings), created at
  // `created`, is pruned.
  bool Matches(const nlohmann::json& labels, absl::Time created) const;

 private:
  std::set<std::string> labels_;
  std::set<std::string> not_labels_;
  std::optional<absl::Time> until_;
};

}  // namespace gantry::engined
