#include "contd/namespaces.h"

#include "common/errors.h"
#include "contd/identifiers.h"

namespace gantry::contd {

absl::Status ValidateNamespace(absl::string_view ns) { return ValidateIdentifier("namespace", ns); }

absl::StatusOr<std::string> NamespaceFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  auto it = metadata.find(kNamespaceMetadataKey);
  if (it == metadata.end()) return std::string(kDefaultNamespace);
  std::string ns(it->second.data(), it->second.size());
  GANTRY_RETURN_IF_ERROR(
      Annotate(ValidateNamespace(ns), absl::StrCat(kNamespaceMetadataKey, " metadata")));
  return ns;
}

absl::StatusOr<std::string> RequestNamespace(const grpc::ServerContextBase& context) {
  return NamespaceFromMetadata(context.client_metadata());
}

}  // namespace gantry::contd
