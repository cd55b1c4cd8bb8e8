// Snapshot records in the metadata database: ids are short numbers never
// handed out twice, a record is stored only when its directory was put in
// place, parents must be committed, and snapshotters and namespaces never
// see each other's records.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "contd/metadata/database.h"
#include "contd/metadata/snapshot_store.h"
#include "tests/temp_dir.h"

namespace {

using gantry::contd::metadata::Database;
using gantry::contd::metadata::SnapshotRecord;
using gantry::contd::metadata::SnapshotStore;
using gantry::contd::snapshots::Kind;

absl::Status Placed(int64_t) { return absl::OkStatus(); }

}  // namespace

TEST_CASE("snapshot store: ids, parents, commit and removal", "[contd][snapshots]") {
  gantry::testing::TempDir dir("snapshot-store-test");
  auto db = Database::Open(dir.path());
  REQUIRE(db.ok());
  SnapshotStore store(**db, "overlayfs");
  SnapshotStore other(**db, "native");

  auto base = store.Create("ns", "base-key", "", Kind::kActive, {{"a", "1"}}, Placed);
  REQUIRE(base.ok());
  CHECK(base->id == 1);
  CHECK(base->parent_ids.empty());
  // An active snapshot cannot be a parent.
  CHECK(absl::IsFailedPrecondition(
      store.Create("ns", "child", "base-key", Kind::kActive, {}, Placed).status()));
  REQUIRE(store.Commit("ns", "base", "base-key", {{"b", "2"}}).ok());
  auto committed = store.Get("ns", "base");
  REQUIRE(committed.ok());
  CHECK(committed->id == 1);
  CHECK(committed->info.kind == Kind::kCommitted);
  CHECK(committed->info.labels == gantry::contd::snapshots::Labels{{"b", "2"}});

  auto child = store.Create("ns", "child", "base", Kind::kView, {}, Placed);
  REQUIRE(child.ok());
  CHECK(child->parent_ids == std::vector<int64_t>{1});
  CHECK(absl::IsFailedPrecondition(store.Remove("ns", "base").status()));
  CHECK(*store.Remove("ns", "child") == child->id);

  // A failed placement stores nothing, and ids are not reused.
  auto failed = store.Create("ns", "lost", "", Kind::kActive, {},
                             [](int64_t) { return absl::InternalError("rename failed"); });
  CHECK(absl::IsInternal(failed.status()));
  CHECK(absl::IsNotFound(store.Get("ns", "lost").status()));
  auto next = store.Create("ns", "next", "", Kind::kActive, {}, Placed);
  REQUIRE(next.ok());
  CHECK(next->id > child->id);
  CHECK(*store.Ids() == std::set<int64_t>{1, next->id});

  // Other snapshotters and namespaces have their own keys and ids.
  CHECK(absl::IsNotFound(other.Get("ns", "base").status()));
  CHECK(other.Create("ns", "base", "", Kind::kActive, {}, Placed)->id == 1);
  CHECK(store.List("elsewhere")->empty());
  CHECK(store.Create("elsewhere", "base", "", Kind::kActive, {}, Placed).ok());
  CHECK(absl::IsAlreadyExists(store.Commit("ns", "base", "next", {})));
}
