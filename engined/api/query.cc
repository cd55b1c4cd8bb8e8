#include "engined/api/query.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gantry::engined {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::string> UrlDecode(absl::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%') {
      int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid URL escape \"", text.substr(i, 3), "\""));
      }
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<QueryParams> QueryParams::Parse(absl::string_view query) {
  QueryParams params;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    absl::StatusOr<std::string> name = UrlDecode(kv.first);
    if (!name.ok()) return name.status();
    absl::StatusOr<std::string> value = UrlDecode(kv.second);
    if (!value.ok()) return value.status();
    params.values_.emplace(std::move(*name), std::move(*value));
  }
  return params;
}

std::optional<std::string> QueryParams::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> QueryParams::GetAll(const std::string& name) const {
  std::vector<std::string> all;
  auto [begin, end] = values_.equal_range(name);
  for (auto it = begin; it != end; ++it) all.push_back(it->second);
  return all;
}

bool QueryParams::GetBool(const std::string& name) const {
  std::optional<std::string> value = Get(name);
  if (!value.has_value()) return false;
  std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(*value));
  return !(v.empty() || v == "0" || v == "no" || v == "false" || v == "none");
}

absl::StatusOr<std::optional<int64_t>> QueryParams::GetInt(const std::string& name) const {
  std::optional<std::string> value = Get(name);
  if (!value.has_value() || value->empty()) return std::optional<int64_t>();
  int64_t number;
  if (!absl::SimpleAtoi(*value, &number)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value for ", name, ": \"", *value, "\" is not an integer"));
  }
  return std::optional<int64_t>(number);
}

absl::StatusOr<Filters> QueryParams::GetFilters() const {
  Filters filters;
  std::optional<std::string> text = Get("filters");
  if (!text.has_value() || text->empty()) return filters;
  nlohmann::json json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid filter: ", *text));
  }
  for (const auto& [name, values] : json.items()) {
    std::set<std::string>& wanted = filters[name];
    if (values.is_object()) {
      for (const auto& [value, enabled] : values.items()) {
        if (!enabled.is_boolean()) {
          return absl::InvalidArgumentError(absl::StrCat("invalid filter '", name, "': ", *text));
        }
        if (enabled.get<bool>()) wanted.insert(value);
      }
    } else if (values.is_array()) {
      for (const nlohmann::json& value : values) {
        if (!value.is_string()) {
          return absl::InvalidArgumentError(absl::StrCat("invalid filter '", name, "': ", *text));
        }
        wanted.insert(value.get<std::string>());
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter '", name, "': ", *text));
    }
  }
  return filters;
}

}  // namespace gantry::engined
