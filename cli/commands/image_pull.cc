#include "cli/commands/image_pull.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/format/units.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

// Docker's bar: one "=" per 2 %, a ">", padding to 50, then the byte counts.
std::string ProgressBar(const json& detail) {
  const double current = detail.value("current", 0.0);
  const double total = detail.value("total", 0.0);
  if (current <= 0 && total <= 0) return "";
  if (total <= 0 || current > total) return absl::StrFormat("%8s", HumanSize(current));
  const int filled = std::min(int(current / total * 100) / 2, 50);
  return absl::StrCat("[", std::string(filled, '='), ">", std::string(50 - filled, ' '), "] ",
                      absl::StrFormat("%8s", HumanSize(current)), "/", HumanSize(total));
}

}  // namespace

ImageName ParseImageName(const std::string& reference) {
  ImageName parsed;
  std::string rest = reference;
  if (size_t at = rest.find('@'); at != std::string::npos) {
    parsed.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
  }
  const size_t slash = rest.rfind('/');
  const size_t colon = rest.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    parsed.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  parsed.name = rest;
  return parsed;
}

std::string WithDefaultTag(const std::string& reference) {
  ImageName parsed = ParseImageName(reference);
  if (!parsed.tag.empty() || !parsed.digest.empty()) return reference;
  return absl::StrCat(reference, ":latest");
}

absl::Status ProgressDisplay::Show(const json& message) {
  if (message.contains("error")) {
    return absl::UnknownError(message["error"].is_string() ? message["error"].get<std::string>()
                                                           : message["error"].dump());
  }
  // Data for the program (a push's digest), not for the user.
  if (message.contains("aux")) return absl::OkStatus();
  if (message.contains("stream") && message["stream"].is_string()) {
    // Text meant as it is ("Loaded image: busybox:latest\n").
    lines_.clear();
    out_ << message["stream"].get<std::string>();
    out_.flush();
    return absl::OkStatus();
  }
  const std::string id = message.value("id", "");
  const std::string status = message.value("status", "");
  const bool has_progress = message.contains("progressDetail");
  const std::string bar = has_progress ? ProgressBar(message["progressDetail"]) : "";
  size_t diff = 0;
  if (!id.empty() && has_progress) {
    auto [it, added] = lines_.emplace(id, lines_.size());
    if (added && terminal_) out_ << "\n";
    diff = lines_.size() - it->second;
    if (terminal_) out_ << "\033[" << diff << "A";
  } else {
    lines_.clear();
  }
  if (terminal_ && has_progress) {
    out_ << "\033[2K\r";
  } else if (!bar.empty()) {
    return absl::OkStatus();  // byte counts only on a terminal
  }
  if (!id.empty()) out_ << id << ": ";
  if (terminal_ && has_progress) {
    out_ << status << (bar.empty() ? "" : " ") << bar << "\r";
  } else {
    out_ << status << "\n";
  }
  if (diff > 0 && terminal_) out_ << "\033[" << diff << "B";
  out_.flush();
  return absl::OkStatus();
}

absl::Status PullImage(EngineClient& client, const std::string& reference, std::ostream& out,
                       bool terminal, bool quiet) {
  ImageName image = ParseImageName(reference);
  std::string tag = !image.digest.empty() ? image.digest : image.tag;
  if (tag.empty()) {
    tag = "latest";
    if (!quiet) out << "Using default tag: latest\n";
  }
  GANTRY_ASSIGN_OR_RETURN(
      std::unique_ptr<ResponseStream> stream,
      client.Open("POST", absl::StrCat("/images/create?fromImage=", QueryEscape(image.name),
                                       "&tag=", QueryEscape(tag))));
  return ShowProgressStream(*stream, out, terminal, quiet);
}

absl::Status ShowProgressStream(ResponseStream& stream, std::ostream& out, bool terminal,
                                bool quiet) {
  ProgressDisplay display(out, terminal);
  return stream.ReadJsonLines([&](const json& message) {
    if (quiet && !message.contains("error")) return absl::OkStatus();
    return display.Show(message);
  });
}

}  // namespace gantry::cli
