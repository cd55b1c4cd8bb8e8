#include "cli/commands/command_context.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gantry::cli {
namespace {
constexpr char kExitCodePayload[] = "gantry.cli/exit-code";
}  // namespace

EngineClient& CommandContext::client() {
  if (engine) return *engine;
  std::optional<TlsOptions> options;
  if (tls || tls_verify) {
    const char* cert_path = ::getenv("GANTRY_CERT_PATH");
    const char* home = ::getenv("HOME");
    const std::string dir =
        cert_path != nullptr ? cert_path : absl::StrCat(home != nullptr ? home : "", "/.gantry");
    auto or_default = [&dir](const std::string& given, const char* file) {
      if (!given.empty()) return given;
      const std::string path = absl::StrCat(dir, "/", file);
      return ::access(path.c_str(), R_OK) == 0 ? path : std::string();
    };
    options = TlsOptions{.ca_cert = tls_verify ? or_default(tls_ca_cert, "ca.pem") : "",
                         .client_cert = or_default(tls_cert, "cert.pem"),
                         .client_key = or_default(tls_key, "key.pem")};
  }
  engine = std::make_unique<EngineClient>(host, std::move(options));
  return *engine;
}

absl::Status WithExitCode(absl::Status status, int code) {
  status.SetPayload(kExitCodePayload, absl::Cord(std::to_string(code)));
  return status;
}

int ExitCodeOf(const absl::Status& status) {
  auto payload = status.GetPayload(kExitCodePayload);
  int code = 1;
  if (payload.has_value()) (void)absl::SimpleAtoi(std::string(*payload), &code);
  return code;
}

absl::StatusOr<int> ForEachContainer(const std::vector<std::string>& names,
                                     const std::function<absl::Status(const std::string&)>& fn) {
  absl::Status failed;
  for (const std::string& name : names) {
    absl::Status status = fn(name);
    if (status.ok()) {
      std::cout << name << "\n";
    } else if (status.code() == absl::StatusCode::kUnavailable ||
               status.code() == absl::StatusCode::kPermissionDenied) {
      return status;  // engined is not there: once is enough
    } else {
      std::cerr << status.message() << "\n";
      failed = status;
    }
  }
  std::cout.flush();
  if (!failed.ok()) return WithExitCode(absl::CancelledError(""), 1);
  return 0;
}

CLI::Option* AddRepeatable(CLI::App& command, const std::string& names,
                           std::vector<std::string>& values, const std::string& description) {
  return command.add_option(names, values, description)->allow_extra_args(false);
}

nlohmann::json KeyValues(const std::vector<std::string>& pairs) {
  nlohmann::json map = nlohmann::json::object();
  for (const std::string& pair : pairs) {
    const size_t eq = pair.find('=');
    map[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
  }
  return map;
}

absl::StatusOr<std::string> FiltersQuery(const std::vector<std::string>& filters) {
  if (filters.empty()) return std::string();
  nlohmann::json map = nlohmann::json::object();
  for (const std::string& filter : filters) {
    const size_t eq = filter.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid argument \"", filter,
                       "\" for \"-f, --filter\" flag: bad format of filter (expected name=value)"));
    }
    map[filter.substr(0, eq)].push_back(filter.substr(eq + 1));
  }
  return absl::StrCat("&filters=", QueryEscape(map.dump()));
}

}  // namespace gantry::cli
