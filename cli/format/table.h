// Lists as docker's formatter prints them: a Go template per row, and for
// "table" formats a header row and columns aligned as Go's text/tabwriter
// aligns them (minimum width 10, padding 3, spaces).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::cli {

// Aligns tab-separated cells into columns: a cell followed by a tab is as
// wide as the widest in its column block (consecutive lines that have that
// column) plus 3, and at least 10 characters; the last cell of a line is
// left as it is. (`docker version` aligns with 20 and 1, `docker top` with
// 20 and 3.)
std::string AlignColumns(absl::string_view text, size_t min_width = 10, size_t padding = 3);

// Each row rendered with `format` (docker's --format, where "\t" and "\n"
// written as two characters become tab and newline), one per line. An empty
// format or "table" alone means `default_table`; a "table ..." format gets
// the header row (each field by its name in `headers`) and aligned columns;
// "json" means {{json .}}.
absl::StatusOr<std::string> FormatList(absl::string_view format,
                                       const std::vector<nlohmann::json>& rows,
                                       const nlohmann::json& headers,
                                       absl::string_view default_table);

}  // namespace gantry::cli
