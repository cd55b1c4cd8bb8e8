// A raw HTTP/1.1 exchange over a unix socket, for tests that check what goes
// on the wire (headers, status lines, chunked bodies) rather than what a
// client library makes of it.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/unix_socket.h"

namespace gantry::testing {

struct RawHttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;                            // as sent (chunk framing kept)
};

// Sends `request` verbatim and reads until the server closes.
inline std::string ExchangeRaw(const std::string& socket_path, const std::string& request) {
  absl::StatusOr<UniqueFd> fd = ConnectUnixSocket(socket_path);
  REQUIRE(fd.ok());
  REQUIRE(::write(fd->get(), request.data(), request.size()) == ssize_t(request.size()));
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd->get(), buffer, sizeof buffer)) > 0) out.append(buffer, size_t(n));
  return out;
}

inline RawHttpResponse ParseRawResponse(const std::string& text) {
  RawHttpResponse response;
  size_t end = text.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  std::vector<std::string> lines = absl::StrSplit(text.substr(0, end), "\r\n");
  std::vector<std::string> status = absl::StrSplit(lines[0], ' ');
  REQUIRE(status.size() >= 2);
  REQUIRE(absl::SimpleAtoi(status[1], &response.status));
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<std::string, std::string> kv = absl::StrSplit(lines[i], absl::MaxSplits(':', 1));
    response.headers[absl::AsciiStrToLower(kv.first)] =
        std::string(absl::StripAsciiWhitespace(kv.second));
  }
  response.body = text.substr(end + 4);
  return response;
}

// METHOD target with Connection: close, and the parsed answer.
inline RawHttpResponse HttpOverUnix(const std::string& socket_path, const std::string& method,
                                    const std::string& target) {
  return ParseRawResponse(ExchangeRaw(
      socket_path,
      method + " " + target + " HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"));
}

}  // namespace gantry::testing
