#include "contd/identifiers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace gantry::contd {
namespace {

// ^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$ without a regex engine.
bool MatchesIdentifierGrammar(absl::string_view id) {
  bool after_separator = true;  // the first character must be alphanumeric
  for (char c : id) {
    if (absl::ascii_isalnum(c)) {
      after_separator = false;
    } else if ((c == '.' || c == '_' || c == '-') && !after_separator) {
      after_separator = true;
    } else {
      return false;
    }
  }
  return !after_separator;
}

}  // namespace

absl::Status ValidateIdentifier(absl::string_view what, absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": must not be empty"));
  if (id.size() > kMaxIdentifierLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", id, "\": longer than ", kMaxIdentifierLength, " characters"));
  }
  if (!MatchesIdentifierGrammar(id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " \"", id,
        "\": must be letters and digits, separated by single '.', '_' or '-' characters"));
  }
  return absl::OkStatus();
}

}  // namespace gantry::contd
