// Namespaces scope every contd object (containers, events ...). Clients name
// theirs in the request metadata as containerd's clients do, so ctr-style
// tools and engined share one convention.
#pragma once

#include <map>
#include <string>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::contd {

inline constexpr char kNamespaceMetadataKey[] = "containerd-namespace";
inline constexpr char kDefaultNamespace[] = "default";

// INVALID_ARGUMENT naming the namespace unless it follows the identifier
// rules (contd/identifiers.h).
absl::Status ValidateNamespace(absl::string_view ns);

// The namespace a call's metadata names, "default" when it names none.
absl::StatusOr<std::string> NamespaceFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

// Same, for a server handler.
absl::StatusOr<std::string> RequestNamespace(const grpc::ServerContextBase& context);

}  // namespace gantry::contd
