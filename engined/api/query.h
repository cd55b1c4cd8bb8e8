// The query string of a request, decoded, with Docker's readings of its
// values: booleans as moby's httputils.BoolValue, and the JSON `filters`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::engined {

// filters={"label":{"a=b":true}} (or the older {"label":["a=b"]}): for each
// filter name, the values asked for.
using Filters = std::map<std::string, std::set<std::string>>;

class QueryParams {
 public:
  QueryParams() = default;
  // Parses "a=1&b=x%20y"; malformed escapes are InvalidArgument.
  static absl::StatusOr<QueryParams> Parse(absl::string_view query);

  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  // The first value given for `name`.
  std::optional<std::string> Get(const std::string& name) const;
  // Every value given for `name`, in order (names=a&names=b).
  std::vector<std::string> GetAll(const std::string& name) const;
  // False when absent, empty, "0", "no", "false" or "none" (any case); true
  // otherwise, as dockerd.
  bool GetBool(const std::string& name) const;
  // InvalidArgument naming the parameter when not an integer.
  absl::StatusOr<std::optional<int64_t>> GetInt(const std::string& name) const;
  // The `filters` parameter; InvalidArgument when it is not valid JSON of
  // either shape.
  absl::StatusOr<Filters> GetFilters() const;

 private:
  std::multimap<std::string, std::string> values_;
};

// Decodes %XX escapes, and '+' as a space in query strings (not in paths).
absl::StatusOr<std::string> UrlDecode(absl::string_view text, bool plus_is_space = true);

}  // namespace gantry::engined
