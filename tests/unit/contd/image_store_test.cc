// Image records: a name per namespace pointing at a target descriptor, with
// labels, filters and update masks as containerd's image store has them.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/util/time_util.h>

#include "contd/images/image_store.h"
#include "contd/metadata/database.h"
#include "tests/temp_dir.h"

namespace {

using gantry::contd::images::ImageStore;
using gantry::contd::metadata::Database;
using gantry::contd::v1::Image;

constexpr char kIndexType[] = "application/vnd.oci.image.index.v1+json";

Image MakeImage(const std::string& name, char digit = 'a') {
  Image image;
  image.set_name(name);
  image.mutable_target()->set_media_type(kIndexType);
  image.mutable_target()->set_digest("sha256:" + std::string(64, digit));
  image.mutable_target()->set_size(1234);
  return image;
}

std::vector<std::string> Names(const absl::StatusOr<std::vector<Image>>& images) {
  INFO(images.status().ToString());
  REQUIRE(images.ok());
  std::vector<std::string> names;
  for (const Image& i : *images) names.push_back(i.name());
  return names;
}

struct Fixture {
  gantry::testing::TempDir dir{"image-store-test"};
  std::unique_ptr<Database> db = *Database::Open(dir.path());
  ImageStore store{*db};
};

}  // namespace

TEST_CASE("images: create, get, list with filters, delete", "[images]") {
  Fixture f;
  Image busybox = MakeImage("docker.io/library/busybox:latest");
  (*busybox.mutable_labels())["tier"] = "base";
  (*busybox.mutable_target()->mutable_annotations())["org.opencontainers.image.ref.name"] =
      "latest";
  auto created = f.store.Create("default", busybox);
  REQUIRE(created.ok());
  CHECK(created->created_at().seconds() > 0);
  CHECK(created->updated_at() == created->created_at());
  REQUIRE(f.store.Create("default", MakeImage("docker.io/library/nginx:1", 'b')).ok());

  auto got = f.store.Get("default", "docker.io/library/busybox:latest");
  REQUIRE(got.ok());
  CHECK(got->target().size() == 1234);
  CHECK(got->target().annotations().at("org.opencontainers.image.ref.name") == "latest");
  CHECK(got->labels().at("tier") == "base");

  auto duplicate = f.store.Create("default", MakeImage("docker.io/library/nginx:1"));
  CHECK(absl::IsAlreadyExists(duplicate.status()));
  CHECK_THAT(std::string(duplicate.status().message()), Catch::Contains("nginx:1"));

  CHECK(Names(f.store.List("default", {})) ==
        std::vector<std::string>{"docker.io/library/busybox:latest", "docker.io/library/nginx:1"});
  CHECK(Names(f.store.List("default", {"labels.tier==base"})) ==
        std::vector<std::string>{"docker.io/library/busybox:latest"});
  CHECK(Names(f.store.List("default", {"target.digest==sha256:" + std::string(64, 'b')})) ==
        std::vector<std::string>{"docker.io/library/nginx:1"});
  CHECK(Names(f.store.List("default", {"target.mediatype==" + std::string(kIndexType)})).size() ==
        2);
  CHECK(Names(f.store.List("default", {"name~=nginx"})) ==
        std::vector<std::string>{"docker.io/library/nginx:1"});
  CHECK(Names(f.store.List("other", {})).empty());

  REQUIRE(f.store.Delete("default", "docker.io/library/nginx:1").ok());
  CHECK(absl::IsNotFound(f.store.Get("default", "docker.io/library/nginx:1").status()));
  CHECK(absl::IsNotFound(f.store.Delete("default", "docker.io/library/nginx:1")));
}

TEST_CASE("images: validation names the field", "[images]") {
  Fixture f;
  Image no_type = MakeImage("x");
  no_type.mutable_target()->clear_media_type();
  CHECK_THAT(std::string(f.store.Create("default", no_type).status().message()),
             Catch::Contains("image.target.media_type"));
  Image bad_digest = MakeImage("x");
  bad_digest.mutable_target()->set_digest("md5:1234");
  CHECK_THAT(std::string(f.store.Create("default", bad_digest).status().message()),
             Catch::Contains("image.target.digest"));
  CHECK(absl::IsInvalidArgument(f.store.Create("default", MakeImage("")).status()));
  CHECK(absl::IsInvalidArgument(f.store.Create("bad namespace!", MakeImage("x")).status()));
}

TEST_CASE("images: update by mask", "[images]") {
  Fixture f;
  Image image = MakeImage("app:1");
  (*image.mutable_labels())["a"] = "1";
  (*image.mutable_labels())["b"] = "2";
  const Image created = *f.store.Create("default", image);

  Image change = MakeImage("app:1", 'c');
  (*change.mutable_labels())["a"] = "10";
  google::protobuf::FieldMask mask;
  mask.add_paths("labels.a");
  auto updated = f.store.Update("default", change, mask);
  REQUIRE(updated.ok());
  CHECK(updated->labels().at("a") == "10");
  CHECK(updated->labels().at("b") == "2");
  CHECK(updated->target().digest() == created.target().digest());  // not in the mask
  CHECK(updated->created_at() == created.created_at());
  CHECK(updated->updated_at() > created.updated_at());

  mask.set_paths(0, "target");
  CHECK(f.store.Update("default", change, mask)->target().digest() == change.target().digest());

  auto all = f.store.Update("default", change, {});  // empty mask: labels and target
  REQUIRE(all.ok());
  CHECK(all->labels().size() == 1);

  mask.set_paths(0, "name");
  CHECK(absl::IsInvalidArgument(f.store.Update("default", change, mask).status()));
  CHECK(absl::IsNotFound(f.store.Update("default", MakeImage("missing"), {}).status()));
}
