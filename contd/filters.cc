#include "contd/filters.h"

#include <re2/re2.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gantry::contd {
namespace {

using Op = Filter::Selector::Op;

// A recursive-descent parser over one filter string; errors carry the
// filter and the offset where parsing stopped.
class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<Filter::Selector>> ParseConjunction() {
    std::vector<Filter::Selector> selectors;
    SkipSpaces();
    if (AtEnd()) return selectors;
    while (true) {
      absl::StatusOr<Filter::Selector> selector = ParseSelector();
      if (!selector.ok()) return selector.status();
      selectors.push_back(*std::move(selector));
      SkipSpaces();
      if (AtEnd()) return selectors;
      if (text_[pos_] != ',') return Error("expected ',' or the end");
      ++pos_;
    }
  }

 private:
  absl::StatusOr<Filter::Selector> ParseSelector() {
    Filter::Selector selector;
    while (true) {
      absl::StatusOr<std::string> field = ParseField();
      if (!field.ok()) return field.status();
      selector.field_path.push_back(*std::move(field));
      SkipSpaces();
      if (AtEnd() || text_[pos_] != '.') break;
      ++pos_;
    }
    if (AtEnd() || text_[pos_] == ',') return selector;  // presence test

    const absl::string_view rest = text_.substr(pos_);
    if (absl::StartsWith(rest, "==")) {
      selector.op = Op::kEqual;
    } else if (absl::StartsWith(rest, "!=")) {
      selector.op = Op::kNotEqual;
    } else if (absl::StartsWith(rest, "~=")) {
      selector.op = Op::kMatches;
    } else {
      return Error("expected an operator (==, != or ~=), ',' or the end");
    }
    pos_ += 2;
    const size_t value_start = pos_;
    absl::StatusOr<std::string> value = ParseValue();
    if (!value.ok()) return value.status();
    selector.value = *std::move(value);
    if (selector.op == Op::kMatches) {
      auto regex = std::make_shared<RE2>(selector.value, RE2::Quiet);
      if (!regex->ok()) {
        pos_ = value_start;
        return Error(absl::StrCat("bad regular expression: ", regex->error()));
      }
      selector.regex = std::move(regex);
    }
    return selector;
  }

  // A bare field name (letters, digits, '_') or a quoted string.
  absl::StatusOr<std::string> ParseField() {
    SkipSpaces();
    if (!AtEnd() && text_[pos_] == '"') return ParseQuoted();
    const size_t start = pos_;
    while (!AtEnd() && (absl::ascii_isalnum(text_[pos_]) || text_[pos_] == '_')) ++pos_;
    if (pos_ == start) return Error("expected a field name");
    return std::string(text_.substr(start, pos_ - start));
  }

  // A quoted string, or anything up to a ',' or a space.
  absl::StatusOr<std::string> ParseValue() {
    SkipSpaces();
    if (!AtEnd() && text_[pos_] == '"') return ParseQuoted();
    const size_t start = pos_;
    while (!AtEnd() && text_[pos_] != ',' && !absl::ascii_isspace(text_[pos_])) ++pos_;
    if (pos_ == start) return Error("expected a value");
    return std::string(text_.substr(start, pos_ - start));
  }

  absl::StatusOr<std::string> ParseQuoted() {
    const size_t start = pos_++;
    std::string out;
    while (!AtEnd()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (AtEnd()) break;
      char escaped = text_[pos_++];
      switch (escaped) {
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case '"':
        case '\\':
        case '/':
          out.push_back(escaped);
          break;
        default:
          pos_ -= 2;
          return Error(absl::StrCat("unknown escape \\", std::string(1, escaped)));
      }
    }
    pos_ = start;
    return Error("unterminated quoted string");
  }

  void SkipSpaces() {
    while (!AtEnd() && absl::ascii_isspace(text_[pos_])) ++pos_;
  }
  bool AtEnd() const { return pos_ >= text_.size(); }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("filter \"", text_, "\": ", what, " at position ", pos_));
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

bool MatchSelector(const Filter::Selector& selector, const FieldAdaptor& adaptor) {
  std::optional<std::string> value = adaptor(selector.field_path);
  switch (selector.op) {
    case Op::kPresent:
      return value.has_value();
    case Op::kEqual:
      return value.has_value() && *value == selector.value;
    case Op::kNotEqual:
      // As containerd: an absent field counts as the empty string.
      return value.value_or("") != selector.value;
    case Op::kMatches:
      return RE2::PartialMatch(value.value_or(""), *selector.regex);
  }
  return false;
}

}  // namespace

absl::StatusOr<Filter> Filter::Parse(absl::string_view filter) {
  Filter parsed;
  absl::StatusOr<std::vector<Selector>> conjunction = Parser(filter).ParseConjunction();
  if (!conjunction.ok()) return conjunction.status();
  parsed.alternatives_.push_back(*std::move(conjunction));
  return parsed;
}

absl::StatusOr<Filter> Filter::ParseAny(const std::vector<std::string>& filters) {
  Filter parsed;
  for (const std::string& text : filters) {
    absl::StatusOr<Filter> one = Parse(text);
    if (!one.ok()) return one.status();
    parsed.alternatives_.push_back(std::move(one->alternatives_.front()));
  }
  return parsed;
}

bool Filter::Match(const FieldAdaptor& adaptor) const {
  if (alternatives_.empty()) return true;
  for (const std::vector<Selector>& conjunction : alternatives_) {
    bool all = true;
    for (const Selector& selector : conjunction) {
      if (!MatchSelector(selector, adaptor)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

}  // namespace gantry::contd
