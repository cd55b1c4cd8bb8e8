// The metadata store keeps containers per namespace in <root>/metadata.db,
// with containerd's validation, update masks and filters.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include "common/file_util.h"
#include "contd/metadata/container_store.h"
#include "contd/metadata/database.h"
#include "tests/contd_test_container.h"
#include "tests/temp_dir.h"

namespace {

using gantry::contd::metadata::ContainerStore;
using gantry::contd::metadata::Database;
using gantry::contd::v1::Container;
using gantry::testing::MakeContainer;
using google::protobuf::FieldMask;

std::vector<std::string> Ids(const std::vector<Container>& containers) {
  std::vector<std::string> ids;
  for (const Container& c : containers) ids.push_back(c.id());
  return ids;
}

FieldMask Mask(std::initializer_list<const char*> paths) {
  FieldMask mask;
  for (const char* p : paths) mask.add_paths(p);
  return mask;
}

// One open database in a temporary root.
struct Fixture {
  gantry::testing::TempDir dir{"contd-store-test"};
  std::unique_ptr<Database> db = Open();
  ContainerStore store{*db};

  std::unique_ptr<Database> Open() {
    absl::StatusOr<std::unique_ptr<Database>> opened = Database::Open(dir.path());
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    return *std::move(opened);
  }
  void Create(const std::string& ns, const Container& c) {
    absl::StatusOr<Container> created = store.Create(ns, c);
    INFO(created.status().ToString());
    REQUIRE(created.ok());
  }
  std::vector<std::string> List(const std::string& ns, const std::vector<std::string>& filters) {
    absl::StatusOr<std::vector<Container>> listed = store.List(ns, filters);
    INFO(listed.status().ToString());
    REQUIRE(listed.ok());
    return Ids(*listed);
  }
};

void CheckError(const absl::Status& status, absl::StatusCode code, const std::string& names) {
  INFO(status.ToString());
  CHECK(status.code() == code);
  CHECK_THAT(std::string(status.message()), Catch::Contains(names));
}

}  // namespace

TEST_CASE("a created container reads back field for field, with timestamps", "[contd][metadata]") {
  Fixture f;
  Container sent = MakeContainer("web");
  sent.mutable_runtime()->mutable_options()->PackFrom(google::protobuf::Struct());
  (*sent.mutable_extensions())["engined"].PackFrom(google::protobuf::Struct());

  absl::StatusOr<Container> created = f.store.Create("default", sent);
  REQUIRE(created.ok());
  CHECK(created->created_at().seconds() > 0);
  CHECK(created->updated_at() == created->created_at());

  absl::StatusOr<Container> got = f.store.Get("default", "web");
  REQUIRE(got.ok());
  CHECK(google::protobuf::util::MessageDifferencer::Equals(*got, *created));

  struct stat st;
  CHECK(::stat((f.dir.path() + "/metadata.db").c_str(), &st) == 0);
}

TEST_CASE("records survive closing and reopening the database", "[contd][metadata]") {
  Fixture f;
  f.Create("default", MakeContainer("web"));
  f.db.reset();
  std::unique_ptr<Database> reopened = f.Open();
  ContainerStore store(*reopened);
  absl::StatusOr<Container> got = store.Get("default", "web");
  REQUIRE(got.ok());
  CHECK(got->labels().at("tier") == "frontend");
  absl::StatusOr<std::vector<std::string>> namespaces = reopened->ListNamespaces();
  REQUIRE(namespaces.ok());
  CHECK(*namespaces == std::vector<std::string>{"default"});
}

TEST_CASE("create refuses duplicates and invalid containers, naming the field",
          "[contd][metadata]") {
  Fixture f;
  f.Create("default", MakeContainer("web"));
  CheckError(f.store.Create("default", MakeContainer("web")).status(),
             absl::StatusCode::kAlreadyExists, "\"web\" already exists in namespace \"default\"");

  CheckError(f.store.Create("default", MakeContainer("")).status(),
             absl::StatusCode::kInvalidArgument, "container.id");
  CheckError(f.store.Create("default", MakeContainer("bad/id")).status(),
             absl::StatusCode::kInvalidArgument, "container.id \"bad/id\"");
  CheckError(f.store.Create("default", MakeContainer(std::string(77, 'a'))).status(),
             absl::StatusCode::kInvalidArgument, "container.id");
  Container no_runtime = MakeContainer("a");
  no_runtime.clear_runtime();
  CheckError(f.store.Create("default", no_runtime).status(), absl::StatusCode::kInvalidArgument,
             "container.runtime.name");
  Container no_spec = MakeContainer("b");
  no_spec.clear_spec();
  CheckError(f.store.Create("default", no_spec).status(), absl::StatusCode::kInvalidArgument,
             "container.spec");
  CheckError(f.store.Create("bad ns", MakeContainer("c")).status(),
             absl::StatusCode::kInvalidArgument, "namespace \"bad ns\"");
  CHECK(f.List("default", {}) == std::vector<std::string>{"web"});
}

TEST_CASE("namespaces keep containers apart", "[contd][metadata]") {
  Fixture f;
  Container in_a = MakeContainer("web");
  in_a.set_image("a-image");
  Container in_b = MakeContainer("web");
  in_b.set_image("b-image");
  f.Create("team-a", in_a);
  f.Create("team-b", in_b);
  CHECK(f.store.Get("team-a", "web")->image() == "a-image");
  CHECK(f.store.Get("team-b", "web")->image() == "b-image");
  CHECK(f.List("team-c", {}).empty());
  REQUIRE(f.store.Delete("team-a", "web").ok());
  CHECK(absl::IsNotFound(f.store.Get("team-a", "web").status()));
  CHECK(f.store.Get("team-b", "web").ok());
  CHECK(*f.db->ListNamespaces() == std::vector<std::string>{"team-a", "team-b"});
}

TEST_CASE("list filters on id, image, runtime, snapshotter and labels", "[contd][metadata]") {
  Fixture f;
  Container db = MakeContainer("db");
  db.set_image("postgres");
  (*db.mutable_labels())["tier"] = "backend";
  (*db.mutable_labels())["com.example/backup"] = "daily";
  f.Create("default", db);
  f.Create("default", MakeContainer("web"));
  f.Create("default", MakeContainer("web2"));

  CHECK(f.List("default", {}) == std::vector<std::string>{"db", "web", "web2"});
  CHECK(f.List("default", {"id==web"}) == std::vector<std::string>{"web"});
  CHECK(f.List("default", {"id~=^web"}) == std::vector<std::string>{"web", "web2"});
  CHECK(f.List("default", {"image==postgres"}) == std::vector<std::string>{"db"});
  CHECK(f.List("default", {"labels.tier==frontend,id!=web"}) == std::vector<std::string>{"web2"});
  CHECK(f.List("default", {"labels.\"com.example/backup\""}) == std::vector<std::string>{"db"});
  CHECK(f.List("default", {"id==db", "id==web2"}) == std::vector<std::string>{"db", "web2"});
  CHECK(f.List("default", {"runtime.name==io.gantry.ocirun.v1,snapshotter==overlayfs"}).size() ==
        3);
  CheckError(f.store.List("default", {"id=="}).status(), absl::StatusCode::kInvalidArgument,
             "filter \"id==\"");
}

TEST_CASE("update changes the masked fields only", "[contd][metadata]") {
  Fixture f;
  Container original = MakeContainer("web");
  (*original.mutable_labels())["keep"] = "yes";
  f.Create("default", original);
  const Container before = *f.store.Get("default", "web");

  Container change = MakeContainer("web");
  change.set_image("nginx");
  change.mutable_labels()->clear();
  (*change.mutable_labels())["tier"] = "edge";
  change.set_snapshot_key("other");

  SECTION("one label, leaving the others") {
    absl::StatusOr<Container> updated = f.store.Update("default", change, Mask({"labels.tier"}));
    REQUIRE(updated.ok());
    CHECK(updated->labels().at("tier") == "edge");
    CHECK(updated->labels().at("keep") == "yes");
    CHECK(updated->image() == before.image());
    CHECK(updated->snapshot_key() == before.snapshot_key());
    CHECK(updated->created_at() == before.created_at());
    CHECK(google::protobuf::util::TimeUtil::TimestampToNanoseconds(updated->updated_at()) >=
          google::protobuf::util::TimeUtil::TimestampToNanoseconds(before.updated_at()));
    CHECK(f.store.Get("default", "web")->labels().at("tier") == "edge");
  }
  SECTION("a label absent from the update is deleted") {
    REQUIRE(f.store.Update("default", change, Mask({"labels.keep"})).ok());
    CHECK(f.store.Get("default", "web")->labels().count("keep") == 0);
  }
  SECTION("image and snapshot_key") {
    REQUIRE(f.store.Update("default", change, Mask({"image", "snapshot_key"})).ok());
    Container after = *f.store.Get("default", "web");
    CHECK(after.image() == "nginx");
    CHECK(after.snapshot_key() == "other");
    CHECK(after.labels().size() == 2);
  }
  SECTION("an empty mask replaces labels, image, spec, snapshot key and extensions") {
    REQUIRE(f.store.Update("default", change, FieldMask()).ok());
    Container after = *f.store.Get("default", "web");
    CHECK(after.image() == "nginx");
    CHECK(after.labels().size() == 1);
  }
  SECTION("an empty mask may not change the runtime") {
    change.mutable_runtime()->set_name("io.other");
    CheckError(f.store.Update("default", change, FieldMask()).status(),
               absl::StatusCode::kInvalidArgument, "container.runtime.name");
  }
  SECTION("the id and unknown fields are refused, and nothing changes") {
    CheckError(f.store.Update("default", change, Mask({"image", "id"})).status(),
               absl::StatusCode::kInvalidArgument, "\"id\"");
    CheckError(f.store.Update("default", change, Mask({"colour"})).status(),
               absl::StatusCode::kInvalidArgument, "\"colour\"");
    CHECK(f.store.Get("default", "web")->image() == before.image());
  }
  SECTION("the spec may not be removed") {
    change.clear_spec();
    CheckError(f.store.Update("default", change, Mask({"spec"})).status(),
               absl::StatusCode::kInvalidArgument, "container.spec");
  }
  SECTION("an unknown container is NOT_FOUND") {
    change.set_id("nope");
    CheckError(f.store.Update("default", change, Mask({"image"})).status(),
               absl::StatusCode::kNotFound, "\"nope\"");
  }
}

TEST_CASE("delete removes the container and its labels; twice is NOT_FOUND", "[contd][metadata]") {
  Fixture f;
  f.Create("default", MakeContainer("web"));
  REQUIRE(f.store.Delete("default", "web").ok());
  CheckError(f.store.Delete("default", "web"), absl::StatusCode::kNotFound, "\"web\"");
  CheckError(f.store.Get("default", "web").status(), absl::StatusCode::kNotFound,
             "container \"web\" not found in namespace \"default\"");
  // Recreated without the old labels lingering.
  Container bare = MakeContainer("web");
  bare.mutable_labels()->clear();
  f.Create("default", bare);
  CHECK(f.store.Get("default", "web")->labels().empty());
}

TEST_CASE("concurrent creates from many threads all land", "[contd][metadata]") {
  Fixture f;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&f, t] {
      for (int i = 0; i < 25; ++i) {
        (void)f.store.Create("default", MakeContainer("c" + std::to_string(t * 100 + i)));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(f.List("default", {}).size() == 100);
}

TEST_CASE("the database runs in WAL mode and records its schema versions", "[contd][metadata]") {
  Fixture f;
  f.Create("default", MakeContainer("web"));
  struct stat st;
  CHECK(::stat((f.dir.path() + "/metadata.db-wal").c_str(), &st) == 0);

  int64_t version = 0;
  REQUIRE(f.db->Read([&version](gantry::contd::metadata::Connection& conn) -> absl::Status {
                auto query = conn.Prepare(
                    "SELECT version FROM schema_versions WHERE component = 'containers'");
                if (!query.ok()) return query.status();
                auto row = query->Step();
                if (!row.ok()) return row.status();
                version = query->ColumnInt(0);
                return absl::OkStatus();
              })
              .ok());
  CHECK(version == 1);

  // A database from a newer contd is refused rather than misread.
  REQUIRE(f.db->Write([](gantry::contd::metadata::Connection& conn) {
                return conn.Exec(
                    "UPDATE schema_versions SET version = 99 WHERE component = 'containers'");
              })
              .ok());
  f.db.reset();
  absl::StatusOr<std::unique_ptr<Database>> reopened = Database::Open(f.dir.path());
  REQUIRE_FALSE(reopened.ok());
  CHECK(reopened.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(reopened.status().message()), Catch::Contains("containers"));
}

TEST_CASE("a failed write leaves nothing behind", "[contd][metadata]") {
  Fixture f;
  absl::Status failed = f.db->Write([](gantry::contd::metadata::Connection& conn) -> absl::Status {
    absl::Status inserted = conn.Exec("INSERT INTO namespaces VALUES ('ghost', 0)");
    if (!inserted.ok()) return inserted;
    return absl::AbortedError("changed my mind");
  });
  CHECK(absl::IsAborted(failed));
  CHECK(f.db->ListNamespaces()->empty());
  // A row whose namespace does not exist breaks a foreign key: refused.
  absl::Status orphan = f.db->Write([](gantry::contd::metadata::Connection& conn) {
    return conn.Exec(
        "INSERT INTO containers VALUES ('nowhere', 'x', '', 'r', NULL, x'', '', '', 0, 0)");
  });
  CHECK(orphan.code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("a bad bind is reported by Step, naming the statement", "[contd][metadata]") {
  Fixture f;
  absl::Status status = f.db->Read([](gantry::contd::metadata::Connection& conn) -> absl::Status {
    auto query = conn.Prepare("SELECT name FROM namespaces WHERE name = ?");
    if (!query.ok()) return query.status();
    return query->Bind(2, "too far").Run();
  });
  CHECK_FALSE(status.ok());
  CHECK_THAT(std::string(status.message()), Catch::Contains("SELECT name FROM namespaces"));
}

TEST_CASE("a metadata.db that is not a database is DATA_LOSS naming the file",
          "[contd][metadata]") {
  gantry::testing::TempDir dir("contd-store-test");
  const std::string path = dir.path() + "/metadata.db";
  REQUIRE(gantry::WriteFileAtomic(path, std::string(4096, 'x')).ok());
  absl::StatusOr<std::unique_ptr<Database>> opened = Database::Open(dir.path());
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(opened.status().message()), Catch::Contains(path));
}
