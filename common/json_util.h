// JSON helpers on nlohmann::json: parsing with clear errors, and a typed
// reader whose errors name the offending field by its full path
// ("process.args: expected array of strings").
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>
#include "absl/strings/string_view.h"

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace gantry {

// Parses `text`; `what` names the source in the error ("config.json").
absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, absl::string_view what);

// Reads and parses a file; errors name the path.
absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path);

// The string members of a JSON object (Docker's Labels, Options ...); a
// non-object, or a member of another type, gives no entry.
std::map<std::string, std::string> StringMembers(const nlohmann::json& object);

namespace json_detail {
template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};
template <typename T>
struct IsStringMap : std::false_type {};
template <typename T>
struct IsStringMap<std::map<std::string, T>> : std::true_type {};
}  // namespace json_detail

// Reads fields of one JSON object. The first error is kept and every later
// call becomes a no-op, so callers read all fields and check status() once.
class JsonReader {
 public:
  JsonReader(const nlohmann::json& value, std::string path)
      : JsonReader(value, std::move(path), std::make_shared<absl::Status>()) {}

  // The first error of this reader or of any reader nested in it.
  const absl::Status& status() const { return *status_; }
  bool ok() const { return status_->ok(); }
  const std::string& path() const { return path_; }
  bool Has(absl::string_view key) const {
    return value_->is_object() && value_->contains(std::string(key)) &&
           !(*value_)[std::string(key)].is_null();
  }
  const nlohmann::json& value() const { return *value_; }

  // Leaves `out` unchanged when the key is absent or null.
  template <typename T>
  JsonReader& Optional(absl::string_view key, T& out) {
    if (!ok() || !Has(key)) return *this;
    Convert((*value_)[std::string(key)], FieldPath(key), out);
    return *this;
  }
  template <typename T>
  JsonReader& Optional(absl::string_view key, std::optional<T>& out) {
    if (!ok() || !Has(key)) return *this;
    T v{};
    if (Convert((*value_)[std::string(key)], FieldPath(key), v)) out = std::move(v);
    return *this;
  }
  template <typename T>
  JsonReader& Required(absl::string_view key, T& out) {
    if (!ok()) return *this;
    if (!Has(key)) {
      Fail(FieldPath(key), "required field is missing");
      return *this;
    }
    Convert((*value_)[std::string(key)], FieldPath(key), out);
    return *this;
  }

  // A nested object's reader; a missing key yields a reader over an empty object.
  JsonReader Object(absl::string_view key);
  // A reader over an element of an array field, for objects inside arrays.
  JsonReader Element(const nlohmann::json& item, size_t index, absl::string_view array_key);
  // Elements of an array field (empty when absent); reports a non-array.
  std::vector<const nlohmann::json*> Array(absl::string_view key);

  // Records an error for `field` (a key of this object, or "" for the object).
  void Error(absl::string_view field, absl::string_view problem) {
    Fail(field.empty() ? path_ : FieldPath(field), problem);
  }

  std::string FieldPath(absl::string_view key) const {
    return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
  }

 private:
  JsonReader(const nlohmann::json& value, std::string path, std::shared_ptr<absl::Status> status)
      : value_(&value), path_(std::move(path)), status_(std::move(status)) {
    if (!value.is_object()) Fail(path_, "expected object");
  }

  void Fail(absl::string_view field, absl::string_view problem) {
    if (ok()) *status_ = absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
  }

  template <typename T>
  bool Convert(const nlohmann::json& v, const std::string& field, T& out) {
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) return Fail(field, "expected boolean"), false;
      out = v.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer()) return Fail(field, "expected integer"), false;
      if constexpr (std::is_unsigned_v<T>) {
        // JSON built in code may hold a non-negative value as a signed integer.
        if (v.is_number_unsigned() || v.get<std::int64_t>() >= 0) {
          auto u = v.get<std::uint64_t>();
          if (u > std::numeric_limits<T>::max()) return Fail(field, "integer out of range"), false;
          out = static_cast<T>(u);
        } else {
          return Fail(field, "expected non-negative integer"), false;
        }
      } else {
        if (v.is_number_unsigned() &&
            v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
          return Fail(field, "integer out of range"), false;
        auto s = v.get<std::int64_t>();
        if (s < std::numeric_limits<T>::min() || s > std::numeric_limits<T>::max())
          return Fail(field, "integer out of range"), false;
        out = static_cast<T>(s);
      }
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!v.is_number()) return Fail(field, "expected number"), false;
      out = v.get<T>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!v.is_string()) return Fail(field, "expected string"), false;
      out = v.get<std::string>();
    } else if constexpr (std::is_same_v<T, nlohmann::json>) {
      out = v;
    } else if constexpr (json_detail::IsVector<T>::value) {
      if (!v.is_array()) return Fail(field, ArrayProblem<typename T::value_type>()), false;
      T result;
      result.reserve(v.size());
      for (std::size_t i = 0; i < v.size(); ++i) {
        typename T::value_type item{};
        if (!ConvertElement(v[i], absl::StrCat(field, "[", i, "]"), item)) return false;
        result.push_back(std::move(item));
      }
      out = std::move(result);
    } else if constexpr (json_detail::IsStringMap<T>::value) {
      if (!v.is_object()) return Fail(field, "expected object"), false;
      T result;
      for (const auto& [k, item] : v.items()) {
        typename T::mapped_type m{};
        if (!Convert(item, absl::StrCat(field, ".", k), m)) return false;
        result.emplace(k, std::move(m));
      }
      out = std::move(result);
    } else {
      static_assert(sizeof(T) == 0, "JsonReader: unsupported field type");
    }
    return true;
  }

  // Arrays of scalars report "expected array of strings" at the array's path,
  // as users think of the field as a whole.
  template <typename E>
  bool ConvertElement(const nlohmann::json& v, const std::string& field, E& out) {
    if constexpr (std::is_same_v<E, std::string>) {
      if (!v.is_string()) {
        Fail(field.substr(0, field.rfind('[')), "expected array of strings");
        return false;
      }
      out = v.get<std::string>();
      return true;
    } else {
      return Convert(v, field, out);
    }
  }
  template <typename E>
  static const char* ArrayProblem() {
    if constexpr (std::is_same_v<E, std::string>) return "expected array of strings";
    return "expected array";
  }

  const nlohmann::json* value_;
  std::string path_;
  // Shared with nested readers so an error anywhere below is seen at the top.
  std::shared_ptr<absl::Status> status_;
};

}  // namespace gantry
