// containerd's filter language (its filters.Parse), used by List, Subscribe
// and Plugins requests:
//
//   id==web                     field equals value
//   image!=busybox              field differs (or is absent)
//   labels."com.example/x"~=^a  field matches an RE2 regex (unanchored)
//   labels.tier                 field is present
//   id==web,image==busybox      comma: all must hold
//
// Quoted strings ("..." with backslash escapes) may stand for a value or a
// field path component. Several filter strings given together match when
// any one of them does.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace gantry::contd {

// What a filter is matched against: the value at a field path such as
// {"labels", "com.example/x"}, or nullopt when the object has no such field.
using FieldAdaptor =
    std::function<std::optional<std::string>(const std::vector<std::string>& field_path)>;

class Filter {
 public:
  // Parses one filter string; an empty string matches everything.
  // INVALID_ARGUMENT naming the filter and the position of the error.
  static absl::StatusOr<Filter> Parse(absl::string_view filter);
  // Any of the filters (none: everything).
  static absl::StatusOr<Filter> ParseAny(const std::vector<std::string>& filters);

  bool Match(const FieldAdaptor& adaptor) const;

  // One comparison of the conjunction; public for the parser's sake.
  struct Selector {
    enum class Op { kPresent, kEqual, kNotEqual, kMatches };
    std::vector<std::string> field_path;
    Op op = Op::kPresent;
    std::string value;
    std::shared_ptr<const re2::RE2> regex;  // kMatches only
  };

 private:
  // OR of ANDs; an empty AND is true, an empty OR matches everything.
  std::vector<std::vector<Selector>> alternatives_;
};

}  // namespace gantry::contd
