#include "engined/api/http_types.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gantry::engined {

ResponseStream::~ResponseStream() {
  // The zero-length chunk ends the body; a client that left is no error.
  (void)connection_->Write("0\r\n\r\n");
}

absl::Status ResponseStream::Write(absl::string_view data) {
  if (data.empty()) return absl::OkStatus();
  return connection_->Write(absl::StrCat(absl::StrFormat("%x\r\n", data.size()), data, "\r\n"));
}

absl::Status ResponseStream::WriteJson(const nlohmann::json& value) {
  return Write(value.dump() + "\n");
}

std::optional<std::string> HttpRequest::Header(absl::string_view name) const {
  auto it = headers.find(absl::AsciiStrToLower(name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

const std::string& HttpRequest::Param(const std::string& name) const {
  static const std::string kEmpty;
  auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

HttpResponse HttpResponse::Json(unsigned status, const nlohmann::json& value) {
  HttpResponse response;
  response.status = status;
  response.SetHeader("Content-Type", "application/json");
  // Replacement of invalid UTF-8 rather than an exception mid-response.
  response.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return response;
}

HttpResponse HttpResponse::Text(unsigned status, std::string body, std::string content_type) {
  HttpResponse response;
  response.status = status;
  response.SetHeader("Content-Type", std::move(content_type));
  response.body = std::move(body);
  return response;
}

void HttpResponse::SetHeader(std::string name, std::string value) {
  for (auto& [key, existing] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) {
      existing = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

absl::StatusOr<nlohmann::json> DecodeJsonBody(const HttpRequest& request) {
  if (request.body.empty()) return nlohmann::json::object();
  std::optional<std::string> type = request.Header("Content-Type");
  if (type.has_value() && !absl::StartsWithIgnoreCase(*type, "application/json")) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported Content-Type header (", *type, "): must be 'application/json'"));
  }
  nlohmann::json value = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return absl::InvalidArgumentError("invalid JSON in request body");
  }
  return value;
}

}  // namespace gantry::engined
