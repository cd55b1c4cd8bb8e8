// containerd's identifier rules, shared by namespaces, container ids and
// topic components: alphanumerics joined by single '.', '_' or '-', at most
// 76 characters, so an identifier is safe as a path component and a label.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gantry::contd {

inline constexpr size_t kMaxIdentifierLength = 76;

// INVALID_ARGUMENT naming `what` (for example "container.id") and the value.
absl::Status ValidateIdentifier(absl::string_view what, absl::string_view id);

}  // namespace gantry::contd
