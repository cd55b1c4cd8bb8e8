#include "cli/format/template.h"

#include <functional>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

struct Pipeline;

struct Operand {
  enum Kind { kField, kLiteral, kIdent, kPipeline } kind = kLiteral;
  std::vector<std::string> path;  // kField: names after the dot
  json literal;                   // kLiteral
  std::string ident;              // kIdent: a function name
  std::shared_ptr<Pipeline> sub;  // kPipeline: ( ... )
};

struct Command {
  std::vector<Operand> args;
};

struct Pipeline {
  std::vector<Command> commands;
};

// A value while evaluating: JSON, or a field that is not there.
struct Value {
  json value;
  bool missing = false;
};

bool Truthy(const Value& v) {
  if (v.missing || v.value.is_null()) return false;
  if (v.value.is_boolean()) return v.value.get<bool>();
  if (v.value.is_number()) return v.value.get<double>() != 0;
  if (v.value.is_string() || v.value.is_array() || v.value.is_object()) return !v.value.empty();
  return true;
}

std::string Print(const Value& v) { return v.missing ? "<no value>" : GoString(v.value); }

// Splits an action's text into tokens: fields, strings, numbers, names,
// pipes and parentheses.
absl::StatusOr<std::vector<std::string>> Tokenize(absl::string_view text) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (absl::ascii_isspace(c)) {
      ++i;
    } else if (c == '|' || c == '(' || c == ')') {
      tokens.emplace_back(1, c);
      ++i;
    } else if (c == '"' || c == '`') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != c) j += (text[j] == '\\' && c == '"') ? 2 : 1;
      if (j >= text.size()) return absl::InvalidArgumentError("unterminated quoted string");
      tokens.emplace_back(text.substr(i, j + 1 - i));
      i = j + 1;
    } else {
      size_t j = i;
      while (j < text.size() && !absl::ascii_isspace(text[j]) && text[j] != '|' && text[j] != '(' &&
             text[j] != ')') {
        ++j;
      }
      tokens.emplace_back(text.substr(i, j - i));
      i = j;
    }
  }
  return tokens;
}

class PipelineParser {
 public:
  explicit PipelineParser(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {}

  absl::StatusOr<Pipeline> ParseAll() {
    GANTRY_ASSIGN_OR_RETURN(Pipeline pipeline, ParsePipeline());
    if (pos_ != tokens_.size()) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected \"", tokens_[pos_], "\""));
    }
    return pipeline;
  }

 private:
  absl::StatusOr<Pipeline> ParsePipeline() {
    Pipeline pipeline;
    for (;;) {
      Command command;
      while (pos_ < tokens_.size() && tokens_[pos_] != "|" && tokens_[pos_] != ")") {
        GANTRY_ASSIGN_OR_RETURN(Operand operand, ParseOperand());
        command.args.push_back(std::move(operand));
      }
      if (command.args.empty()) return absl::InvalidArgumentError("missing value for command");
      pipeline.commands.push_back(std::move(command));
      if (pos_ < tokens_.size() && tokens_[pos_] == "|") {
        ++pos_;
        continue;
      }
      return pipeline;
    }
  }

  absl::StatusOr<Operand> ParseOperand() {
    const std::string token = tokens_[pos_++];
    Operand operand;
    if (token == "(") {
      GANTRY_ASSIGN_OR_RETURN(Pipeline sub, ParsePipeline());
      if (pos_ >= tokens_.size() || tokens_[pos_] != ")") {
        return absl::InvalidArgumentError("unclosed left paren");
      }
      ++pos_;
      operand.kind = Operand::kPipeline;
      operand.sub = std::make_shared<Pipeline>(std::move(sub));
    } else if (token[0] == '.') {
      operand.kind = Operand::kField;
      if (token != ".") {
        for (absl::string_view name : absl::StrSplit(token.substr(1), '.')) {
          if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("bad field ", token));
          operand.path.emplace_back(name);
        }
      }
    } else if (token[0] == '"') {
      json parsed = json::parse(token, nullptr, false);
      if (!parsed.is_string())
        return absl::InvalidArgumentError(absl::StrCat("bad string ", token));
      operand.literal = parsed;
    } else if (token[0] == '`') {
      operand.literal = token.substr(1, token.size() - 2);
    } else if (token == "true" || token == "false") {
      operand.literal = token == "true";
    } else if (token == "nil") {
      operand.literal = nullptr;
    } else if (int64_t n; absl::SimpleAtoi(token, &n)) {
      operand.literal = n;
    } else if (double d; absl::SimpleAtod(token, &d) && absl::ascii_isdigit(token[0])) {
      operand.literal = d;
    } else if (absl::ascii_isalpha(token[0])) {
      operand.kind = Operand::kIdent;
      operand.ident = token;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unexpected \"", token, "\" in command"));
    }
    return operand;
  }

  std::vector<std::string> tokens_;
  size_t pos_ = 0;
};

using Function = std::function<absl::StatusOr<Value>(const std::vector<Value>&)>;

absl::StatusOr<Value> Arity(const std::string& name, const std::vector<Value>& args, size_t n) {
  if (args.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("wrong number of args for ", name, ": want ", n, " got ", args.size()));
  }
  return Value{};
}

std::string AsString(const Value& v) {
  return v.value.is_string() ? v.value.get<std::string>() : Print(v);
}

const std::map<std::string, Function>& Functions() {
  static const auto* functions = new std::map<std::string, Function>{
      {"json",
       [](const std::vector<Value>& a) -> absl::StatusOr<Value> {
         GANTRY_RETURN_IF_ERROR(Arity("json", a, 1).status());
         return Value{a[0].missing ? "null" : a[0].value.dump()};
       }},
      {"len",
       [](const std::vector<Value>& a) -> absl::StatusOr<Value> {
         GANTRY_RETURN_IF_ERROR(Arity("len", a, 1).status());
         const json& v = a[0].value;
         if (a[0].missing || !(v.is_array() || v.is_object() || v.is_string())) {
           return absl::InvalidArgumentError(
               absl::StrCat("error calling len: len of ", a[0].missing ? "nil" : v.type_name()));
         }
         return Value{v.is_string() ? v.get<std::string>().size() : v.size()};
       }},
      {"join",
       [](const std::vector<Value>& a) -> absl::StatusOr<Value> {
         GANTRY_RETURN_IF_ERROR(Arity("join", a, 2).status());
         std::vector<std::string> parts;
         if (a[0].value.is_array()) {
           for (const json& e : a[0].value) parts.push_back(GoString(e));
         }
         return Value{absl::StrJoin(parts, AsString(a[1]))};
       }},
      {"split",
       [](const std::vector<Value>& a) -> absl::StatusOr<Value> {
         GANTRY_RETURN_IF_ERROR(Arity("split", a, 2).status());
         std::vector<std::string> parts = absl::StrSplit(AsString(a[0]), AsString(a[1]));
         return Value{parts};
       }},
      {"upper",
       [](const std::vector<Value>& a) -> absl::StatusOr<Value> {
         GANTRY_RETURN_IF_ERROR(Arity("upper", a, 1).status());
         return Value{absl::AsciiStrToUpper(AsString(a[0]))};
       }},
      {"lower",
       [](const std::vector<Value>& a) -> absl::StatusOr<Value> {
         GANTRY_RETURN_IF_ERROR(Arity("lower", a, 1).status());
         return Value{absl::AsciiStrToLower(AsString(a[0]))};
       }},
      {"title",
       [](const std::vector<Value>& a) -> absl::StatusOr<Value> {
         GANTRY_RETURN_IF_ERROR(Arity("title", a, 1).status());
         std::string s = AsString(a[0]);
         for (size_t i = 0; i < s.size(); ++i) {
           if (i == 0 || absl::ascii_isspace(s[i - 1])) s[i] = absl::ascii_toupper(s[i]);
         }
         return Value{s};
       }},
      {"truncate",
       [](const std::vector<Value>& a) -> absl::StatusOr<Value> {
         GANTRY_RETURN_IF_ERROR(Arity("truncate", a, 2).status());
         std::string s = AsString(a[0]);
         if (a[1].value.is_number_integer() && a[1].value.get<int64_t>() >= 0) {
           s = s.substr(0, std::min<size_t>(s.size(), a[1].value.get<int64_t>()));
         }
         return Value{s};
       }},
      {"pad",
       [](const std::vector<Value>& a) -> absl::StatusOr<Value> {
         GANTRY_RETURN_IF_ERROR(Arity("pad", a, 3).status());
         auto spaces = [](const Value& n) {
           return std::string(n.value.is_number_integer() ? n.value.get<int64_t>() : 0, ' ');
         };
         return Value{absl::StrCat(spaces(a[1]), AsString(a[0]), spaces(a[2]))};
       }},
      {"index",
       [](const std::vector<Value>& a) -> absl::StatusOr<Value> {
         if (a.empty()) return absl::InvalidArgumentError("wrong number of args for index");
         Value v = a[0];
         for (size_t i = 1; i < a.size() && !v.missing; ++i) {
           if (v.value.is_object() && a[i].value.is_string() &&
               v.value.contains(a[i].value.get<std::string>())) {
             v = Value{v.value[a[i].value.get<std::string>()]};
           } else if (v.value.is_array() && a[i].value.is_number_integer() &&
                      a[i].value.get<int64_t>() >= 0 &&
                      size_t(a[i].value.get<int64_t>()) < v.value.size()) {
             v = Value{v.value[a[i].value.get<int64_t>()]};
           } else if (v.value.is_array()) {
             return absl::InvalidArgumentError("error calling index: index out of range");
           } else {
             v = Value{json(), true};
           }
         }
         return v;
       }},
      {"print",
       [](const std::vector<Value>& a) -> absl::StatusOr<Value> {
         std::string out;
         for (const Value& v : a) absl::StrAppend(&out, Print(v));
         return Value{out};
       }},
      {"println",
       [](const std::vector<Value>& a) -> absl::StatusOr<Value> {
         std::vector<std::string> parts;
         for (const Value& v : a) parts.push_back(Print(v));
         return Value{absl::StrCat(absl::StrJoin(parts, " "), "\n")};
       }},
  };
  return *functions;
}

absl::Status CheckFunctions(const Pipeline& pipeline) {
  for (const Command& command : pipeline.commands) {
    for (size_t i = 0; i < command.args.size(); ++i) {
      const Operand& op = command.args[i];
      if (op.kind == Operand::kIdent && !Functions().contains(op.ident)) {
        return absl::InvalidArgumentError(absl::StrCat("function \"", op.ident, "\" not defined"));
      }
      if (op.kind == Operand::kPipeline) GANTRY_RETURN_IF_ERROR(CheckFunctions(*op.sub));
    }
  }
  return absl::OkStatus();
}

}  // namespace

struct Template::Node {
  enum Kind { kText, kAction, kIf, kRange } kind = kText;
  std::string text;
  Pipeline pipeline;
  std::vector<std::shared_ptr<Node>> body;
  std::vector<std::shared_ptr<Node>> else_body;
};

namespace {

using NodeList = std::vector<std::shared_ptr<Template::Node>>;

class Evaluator {
 public:
  explicit Evaluator(bool header) : header_(header) {}

  absl::Status Run(const NodeList& nodes, const Value& dot, std::string& out) const {
    for (const auto& node : nodes) {
      switch (node->kind) {
        case Template::Node::kText:
          out += node->text;
          break;
        case Template::Node::kAction: {
          GANTRY_ASSIGN_OR_RETURN(Value v, Eval(node->pipeline, dot));
          out += Print(v);
          break;
        }
        case Template::Node::kIf: {
          GANTRY_ASSIGN_OR_RETURN(Value v, Eval(node->pipeline, dot));
          GANTRY_RETURN_IF_ERROR(Run(Truthy(v) ? node->body : node->else_body, dot, out));
          break;
        }
        case Template::Node::kRange: {
          GANTRY_ASSIGN_OR_RETURN(Value v, Eval(node->pipeline, dot));
          if (!Truthy(v)) {
            GANTRY_RETURN_IF_ERROR(Run(node->else_body, dot, out));
          } else if (v.value.is_array() || v.value.is_object()) {
            for (const json& element : v.value) {
              GANTRY_RETURN_IF_ERROR(Run(node->body, Value{element}, out));
            }
          } else {
            return absl::InvalidArgumentError(absl::StrCat("range can't iterate over ", Print(v)));
          }
          break;
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<Value> Eval(const Pipeline& pipeline, const Value& dot) const {
    std::optional<Value> piped;
    for (const Command& command : pipeline.commands) {
      GANTRY_ASSIGN_OR_RETURN(Value v, EvalCommand(command, dot, piped));
      piped = std::move(v);
    }
    return *piped;
  }

  absl::StatusOr<Value> EvalCommand(const Command& command, const Value& dot,
                                    const std::optional<Value>& piped) const {
    const Operand& head = command.args[0];
    if (head.kind != Operand::kIdent) {
      if (command.args.size() > 1 || piped.has_value()) {
        return absl::InvalidArgumentError("can't give argument to non-function");
      }
      return EvalOperand(head, dot);
    }
    std::vector<Value> args;
    for (size_t i = 1; i < command.args.size(); ++i) {
      GANTRY_ASSIGN_OR_RETURN(Value v, EvalOperand(command.args[i], dot));
      args.push_back(std::move(v));
    }
    if (piped.has_value()) args.push_back(*piped);
    // Headers: the column's name, whatever the function.
    if (header_ && head.ident != "len" && !args.empty()) return args[0];
    absl::StatusOr<Value> result = Functions().at(head.ident)(args);
    if (!result.ok() && !absl::StartsWith(result.status().message(), "error calling")) {
      return absl::InvalidArgumentError(
          absl::StrCat("error calling ", head.ident, ": ", result.status().message()));
    }
    return result;
  }

  absl::StatusOr<Value> EvalOperand(const Operand& op, const Value& dot) const {
    switch (op.kind) {
      case Operand::kLiteral:
        return Value{op.literal};
      case Operand::kPipeline:
        return Eval(*op.sub, dot);
      case Operand::kIdent:
        return Functions().at(op.ident)({});
      case Operand::kField:
        break;
    }
    Value v = dot;
    for (const std::string& name : op.path) {
      if (v.missing) break;
      if (v.value.is_object() && v.value.contains(name)) {
        v = Value{v.value[name]};
      } else if (v.value.is_object() || v.value.is_null()) {
        v = Value{json(), true};
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("can't evaluate field ", name, " in type ", v.value.type_name()));
      }
    }
    return v;
  }

  bool header_;
};

}  // namespace

std::string GoString(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "<nil>";
    case json::value_t::string:
      return value.get<std::string>();
    case json::value_t::array: {
      std::vector<std::string> parts;
      for (const json& e : value) parts.push_back(GoString(e));
      return absl::StrCat("[", absl::StrJoin(parts, " "), "]");
    }
    case json::value_t::object: {
      std::vector<std::string> parts;
      for (const auto& [k, v] : value.items()) parts.push_back(absl::StrCat(k, ":", GoString(v)));
      return absl::StrCat("map[", absl::StrJoin(parts, " "), "]");
    }
    default:
      return value.dump();
  }
}

namespace {

void AddText(NodeList& list, std::string text) {
  auto node = std::make_shared<Template::Node>();
  node->text = std::move(text);
  list.push_back(std::move(node));
}

}  // namespace

absl::StatusOr<Template> Template::Parse(absl::string_view text) {
  auto root = std::make_shared<NodeList>();
  // The lists being filled: the root, then one per open if/range.
  struct Open {
    NodeList* list;
    std::shared_ptr<Node> node;  // null for the root
  };
  std::vector<Open> stack = {{root.get(), nullptr}};
  bool trim_next = false;
  size_t pos = 0;
  auto error = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("template parsing error: ", why));
  };
  while (pos <= text.size()) {
    size_t open = text.find("{{", pos);
    std::string literal(text.substr(pos, open == absl::string_view::npos ? text.npos : open - pos));
    if (trim_next) literal = std::string(absl::StripLeadingAsciiWhitespace(literal));
    if (open == absl::string_view::npos) {
      if (!literal.empty()) AddText(*stack.back().list, literal);
      break;
    }
    size_t close = text.find("}}", open + 2);
    if (close == absl::string_view::npos) return error("unclosed action");
    absl::string_view action = text.substr(open + 2, close - open - 2);
    if (absl::StartsWith(action, "- ")) {
      literal = std::string(absl::StripTrailingAsciiWhitespace(literal));
      action.remove_prefix(2);
    }
    trim_next = absl::EndsWith(action, " -");
    if (trim_next) action.remove_suffix(2);
    if (!literal.empty()) AddText(*stack.back().list, literal);
    pos = close + 2;

    action = absl::StripAsciiWhitespace(action);
    std::string keyword(action.substr(0, action.find(' ')));
    if (keyword == "end" || keyword == "else") {
      if (stack.size() == 1) return error(absl::StrCat("unexpected {{", keyword, "}}"));
      if (keyword == "end") {
        stack.pop_back();
      } else {
        stack.back().list = &stack.back().node->else_body;
      }
      continue;
    }
    auto node = std::make_shared<Node>();
    node->kind = Node::kAction;
    if (keyword == "if" || keyword == "range") {
      node->kind = keyword == "if" ? Node::kIf : Node::kRange;
      action.remove_prefix(keyword.size());
    }
    absl::StatusOr<std::vector<std::string>> tokens = Tokenize(action);
    if (!tokens.ok()) return error(tokens.status().message());
    if (tokens->empty()) return error("missing value for command");
    absl::StatusOr<Pipeline> pipeline = PipelineParser(std::move(*tokens)).ParseAll();
    if (!pipeline.ok()) return error(pipeline.status().message());
    if (absl::Status st = CheckFunctions(*pipeline); !st.ok()) return error(st.message());
    node->pipeline = std::move(*pipeline);
    stack.back().list->push_back(node);
    if (node->kind != Node::kAction) stack.push_back({&node->body, node});
  }
  if (stack.size() > 1) return error("unexpected EOF: missing {{end}}");
  Template t;
  t.nodes_ = std::move(root);
  return t;
}

absl::StatusOr<std::string> Template::Render(const json& data) const {
  std::string out;
  if (absl::Status st = Evaluator(false).Run(*nodes_, Value{data}, out); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("template: executing: ", st.message()));
  }
  return out;
}

absl::StatusOr<std::string> Template::RenderHeader(const json& headers) const {
  std::string out;
  GANTRY_RETURN_IF_ERROR(Evaluator(true).Run(*nodes_, Value{headers}, out));
  return out;
}

}  // namespace gantry::cli
