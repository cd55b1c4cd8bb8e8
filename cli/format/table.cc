#include "cli/format/table.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/format/template.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

// Width on a terminal: UTF-8 code points ("…" is one).
size_t DisplayWidth(absl::string_view text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

}  // namespace

std::string AlignColumns(absl::string_view text, size_t min_width, size_t padding) {
  std::vector<std::vector<std::string>> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    lines.push_back(absl::StrSplit(line, '\t'));
  }
  // widths[i][j]: the width of cell j of line i, the same in its block.
  std::vector<std::vector<size_t>> widths(lines.size());
  size_t max_columns = 0;
  for (const auto& cells : lines) max_columns = std::max(max_columns, cells.size());
  for (size_t column = 0; column + 1 < max_columns; ++column) {
    size_t start = 0;
    while (start < lines.size()) {
      // Cell `column` is aligned only when a tab ends it.
      if (lines[start].size() <= column + 1) {
        ++start;
        continue;
      }
      size_t end = start;
      size_t width = 0;
      while (end < lines.size() && lines[end].size() > column + 1) {
        width = std::max(width, DisplayWidth(lines[end][column]) + padding);
        ++end;
      }
      width = std::max(width, min_width);
      for (size_t i = start; i < end; ++i)
        widths[i].resize(column + 1, 0), widths[i][column] = width;
      start = end;
    }
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += '\n';
    for (size_t j = 0; j < lines[i].size(); ++j) {
      out += lines[i][j];
      if (j + 1 < lines[i].size()) {
        out.append(widths[i][j] - DisplayWidth(lines[i][j]), ' ');
      }
    }
  }
  return out;
}

absl::StatusOr<std::string> FormatList(absl::string_view format,
                                       const std::vector<nlohmann::json>& rows,
                                       const nlohmann::json& headers,
                                       absl::string_view default_table) {
  std::string spec(format);
  if (spec.empty() || spec == "table") spec = std::string(default_table);
  if (spec == "json") spec = "{{json .}}";
  const bool table = absl::StartsWith(spec, "table");
  if (table) spec = spec.substr(5);
  spec = std::string(absl::StripAsciiWhitespace(spec));
  spec = absl::StrReplaceAll(spec, {{"\\t", "\t"}, {"\\n", "\n"}});
  GANTRY_ASSIGN_OR_RETURN(Template tmpl, Template::Parse(spec));
  std::string body;
  for (const nlohmann::json& row : rows) {
    GANTRY_ASSIGN_OR_RETURN(std::string line, tmpl.Render(row));
    absl::StrAppend(&body, line, "\n");
  }
  if (!table) return body;
  GANTRY_ASSIGN_OR_RETURN(std::string header, tmpl.RenderHeader(headers));
  return AlignColumns(absl::StrCat(header, "\n", body));
}

}  // namespace gantry::cli
