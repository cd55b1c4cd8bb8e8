// A small Go text/template look-alike for --format and inspect -f, over JSON
// values: literal text; actions with field paths ({{.A.B}}, {{.}}),
// string and number literals, pipelines ({{.X | json}}), the functions
// docker's templates have (json, len, join, split, index, upper, lower,
// title, truncate, pad, print, println), {{if}}/{{else}}/{{range}}/{{end}},
// and {{- -}} whitespace trimming. Values print as Go prints decoded JSON
// (maps as map[k:v], lists as [a b], a missing field as <no value>).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::cli {

class Template {
 public:
  struct Node;

  static absl::StatusOr<Template> Parse(absl::string_view text);

  absl::StatusOr<std::string> Render(const nlohmann::json& data) const;
  // For table headers: every function returns its argument unchanged, so
  // {{json .Names}} over {"Names": "NAMES"} gives NAMES (as docker does).
  absl::StatusOr<std::string> RenderHeader(const nlohmann::json& headers) const;

 private:
  std::shared_ptr<const std::vector<std::shared_ptr<Node>>> nodes_;
};

// How Go's fmt prints a decoded JSON value ("<nil>", "map[a:1]", "[x y]").
std::string GoString(const nlohmann::json& value);

}  // namespace gantry::cli
