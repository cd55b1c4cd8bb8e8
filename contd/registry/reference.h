// Image references parsed as Docker does ("busybox" is
// docker.io/library/busybox, "host:5000/a/b:tag@sha256:..." keeps all parts).
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/digest.h"

namespace gantry::registry {

inline constexpr char kDefaultDomain[] = "docker.io";
inline constexpr char kDefaultTag[] = "latest";

class Reference {
 public:
  // Normalizes as `docker pull` does: a missing domain is docker.io, a
  // one-component docker.io path gets "library/". No tag is added here (see
  // Object()). Errors name the reference and the rule it breaks.
  static absl::StatusOr<Reference> Parse(absl::string_view text);

  const std::string& domain() const { return domain_; }  // "docker.io", "127.0.0.1:5000"
  const std::string& path() const { return path_; }      // "library/busybox"
  const std::string& tag() const { return tag_; }        // "" when absent
  const std::optional<Digest>& digest() const { return digest_; }

  // "domain/path": the repository, without tag or digest.
  std::string Name() const { return domain_ + "/" + path_; }
  // What /v2/<name>/manifests/<object> takes: the digest when present, else
  // the tag, else "latest".
  std::string Object() const;
  // The full normalized reference.
  std::string String() const;
  // The short form Docker shows and writes in `docker save`'s RepoTags:
  // String() without "docker.io/" and "library/" ("busybox:latest").
  std::string FamiliarString() const;

  // The same repository with another tag or digest (and nothing else).
  Reference WithTag(std::string tag) const;
  Reference WithDigest(const Digest& digest) const;

 private:
  Reference() = default;
  std::string domain_;
  std::string path_;
  std::string tag_;
  std::optional<Digest> digest_;
};

}  // namespace gantry::registry
