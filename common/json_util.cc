#include "common/json_util.h"

#include "common/file_util.h"

namespace gantry {

namespace {
const nlohmann::json& EmptyObject() {
  static const nlohmann::json empty = nlohmann::json::object();
  return empty;
}
}  // namespace

absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, absl::string_view what) {
  auto parsed =
      nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    // Re-parse with exceptions only on the error path, for the byte position.
    try {
      (void)!nlohmann::json::parse(text.begin(), text.end()).is_null();
    } catch (const nlohmann::json::parse_error& e) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": invalid JSON at byte ", e.byte));
    }
    return absl::InvalidArgumentError(absl::StrCat(what, ": invalid JSON"));
  }
  return parsed;
}

absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseJson(*text, path);
}

JsonReader JsonReader::Object(absl::string_view key) {
  if (!ok() || !Has(key)) return JsonReader(EmptyObject(), FieldPath(key), status_);
  return JsonReader((*value_)[std::string(key)], FieldPath(key), status_);
}

JsonReader JsonReader::Element(const nlohmann::json& item, size_t index,
                               absl::string_view array_key) {
  return JsonReader(item, absl::StrCat(FieldPath(array_key), "[", index, "]"), status_);
}

std::vector<const nlohmann::json*> JsonReader::Array(absl::string_view key) {
  std::vector<const nlohmann::json*> items;
  if (!ok() || !Has(key)) return items;
  const auto& v = (*value_)[std::string(key)];
  if (!v.is_array()) {
    Fail(FieldPath(key), "expected array");
    return items;
  }
  for (const auto& item : v) items.push_back(&item);
  return items;
}

std::map<std::string, std::string> StringMembers(const nlohmann::json& object) {
  std::map<std::string, std::string> members;
  if (!object.is_object()) return members;
  for (const auto& [key, value] : object.items()) {
    if (value.is_string()) members[key] = value.get<std::string>();
  }
  return members;
}

}  // namespace gantry
