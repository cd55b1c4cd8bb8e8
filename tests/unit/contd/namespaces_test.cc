// Identifiers and namespaces follow containerd's rules, and a request's
// namespace comes from the metadata containerd's clients send.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "contd/identifiers.h"
#include "contd/namespaces.h"

TEST_CASE("identifiers follow containerd's rules", "[contd][identifiers]") {
  using gantry::contd::ValidateIdentifier;
  for (const char* good : {"a", "web", "A1", "a.b", "a_b-c.d", "k8s.io"}) {
    INFO(good);
    CHECK(ValidateIdentifier("id", good).ok());
  }
  CHECK(ValidateIdentifier("id", std::string(76, 'a')).ok());
  for (const char* bad : {"", "-a", "a-", "a..b", "a b", "a/b", ".", "é"}) {
    INFO(bad);
    CHECK(ValidateIdentifier("id", bad).code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK_THAT(std::string(ValidateIdentifier("id", std::string(77, 'a')).message()),
             Catch::Contains("longer than 76"));
}

TEST_CASE("the namespace comes from containerd-namespace metadata", "[contd][namespaces]") {
  using gantry::contd::NamespaceFromMetadata;
  std::multimap<grpc::string_ref, grpc::string_ref> metadata;
  CHECK(*NamespaceFromMetadata(metadata) == "default");
  metadata.emplace("containerd-namespace", "k8s.io");
  CHECK(*NamespaceFromMetadata(metadata) == "k8s.io");
  metadata.clear();
  metadata.emplace("containerd-namespace", "no/slash");
  absl::StatusOr<std::string> bad = NamespaceFromMetadata(metadata);
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(bad.status().message()), Catch::Contains("namespace \"no/slash\""));
}
