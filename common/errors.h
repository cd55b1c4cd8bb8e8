// Error helpers over absl::Status: errno conversion and context prefixes, so
// every error says what failed, on which object, and why.
#pragma once

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace gantry {

// A status for a failed system call: "<what>: <strerror(err)>", with the code
// that best matches the errno (ENOENT -> NotFound, EEXIST -> AlreadyExists ...).
absl::Status ErrnoError(int err, absl::string_view what);

// Same, reading errno.
absl::Status LastErrno(absl::string_view what);

// Prefixes `context: ` to the message, keeping the code.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

// Errno-like code a status maps back to (for exit codes and syscalls shims).
absl::StatusCode StatusCodeFromErrno(int err);

}  // namespace gantry

// Propagates a non-OK absl::Status from the current function.
#define GANTRY_RETURN_IF_ERROR(expr)                        \
  do {                                                      \
    if (::absl::Status _st = (expr); !_st.ok()) return _st; \
  } while (0)

#define GANTRY_CONCAT_INNER(a, b) a##b
#define GANTRY_CONCAT(a, b) GANTRY_CONCAT_INNER(a, b)

// GANTRY_ASSIGN_OR_RETURN(auto x, Foo()): assigns the value or returns the error.
#define GANTRY_ASSIGN_OR_RETURN(lhs, expr) \
  GANTRY_ASSIGN_OR_RETURN_IMPL(GANTRY_CONCAT(_statusor_, __LINE__), lhs, expr)
#define GANTRY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
