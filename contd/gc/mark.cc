#include "contd/gc/mark.h"

#include <cstring>
#include <deque>
#include <map>

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/log.h"
#include "contd/images/manifest.h"
#include "contd/metadata/lease_store.h"

namespace gantry::contd::gc {
namespace {

using metadata::Connection;
using metadata::Statement;
using Labels = std::map<std::string, std::string>;

// Runs `sql`, whose one parameter is the namespace, handing each row to `row`.
absl::Status ForEachRow(Connection& conn, absl::string_view sql, absl::string_view ns,
                        const std::function<void(const Statement&)>& row) {
  GANTRY_ASSIGN_OR_RETURN(Statement query, conn.Prepare(sql));
  query.Bind(1, ns);
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(bool more, query.Step());
    if (!more) return absl::OkStatus();
    row(query);
  }
}

// Labels of a table shaped (namespace, owner, key, value), by owner.
absl::StatusOr<std::map<std::string, Labels>> LoadLabels(Connection& conn, absl::string_view ns,
                                                         absl::string_view table,
                                                         absl::string_view owner) {
  std::map<std::string, Labels> labels;
  GANTRY_RETURN_IF_ERROR(ForEachRow(
      conn, absl::StrCat("SELECT ", owner, ", key, value FROM ", table, " WHERE namespace = ?"), ns,
      [&](const Statement& r) { labels[r.ColumnText(0)][r.ColumnText(1)] = r.ColumnText(2); }));
  return labels;
}

struct SnapshotRow {
  std::string parent;
  Labels labels;
};

bool Expired(const Labels& labels, absl::Time now) {
  auto it = labels.find(kExpireLabel);
  if (it == labels.end()) return false;
  google::protobuf::Timestamp expire;
  // A time that does not parse never expires: keeping is the safe mistake.
  if (!google::protobuf::util::TimeUtil::FromString(it->second, &expire)) {
    log::Warning("gc: lease label ", kExpireLabel, "=", it->second, ": not an RFC 3339 time");
    return false;
  }
  return absl::FromUnixSeconds(expire.seconds()) + absl::Nanoseconds(expire.nanos()) <= now;
}

// The walk from the roots: a queue of objects whose references are still to
// be followed.
class Marker {
 public:
  Marker(std::set<std::string> blobs, std::map<std::string, Labels> content_labels,
         std::map<SnapshotRef, SnapshotRow> snapshots, const BlobReader& read_blob)
      : blobs_(std::move(blobs)),
        content_labels_(std::move(content_labels)),
        snapshots_(std::move(snapshots)),
        read_blob_(read_blob) {}

  // `media_type` (when known) says whether the blob is a manifest or index
  // to parse; `follow` false keeps the blob without what it references.
  void Content(const std::string& digest, const std::string& media_type = "", bool follow = true) {
    reached_.content.insert(digest);
    if (follow) queue_.push_back({true, {}, digest, media_type});
  }
  void Snapshot(const SnapshotRef& ref, bool follow = true) {
    reached_.snapshots.insert(ref);
    if (follow) queue_.push_back({false, ref, "", ""});
  }
  // containerd.io/gc.ref.* labels.
  void LabelRefs(const Labels& labels) {
    for (const auto& [key, value] : labels) {
      if (absl::StartsWith(key, kRefContentLabel)) {
        const absl::string_view rest = absl::string_view(key).substr(strlen(kRefContentLabel));
        if (rest.empty() || rest[0] == '.' || rest[0] == '/') Content(value);
      } else if (absl::StartsWith(key, kRefSnapshotLabel)) {
        std::string snapshotter = key.substr(strlen(kRefSnapshotLabel));
        snapshotter = snapshotter.substr(0, snapshotter.find('/'));
        if (!snapshotter.empty()) Snapshot({snapshotter, value});
      }
    }
  }

  absl::StatusOr<Reachable> Run() {
    while (!queue_.empty()) {
      Pending next = std::move(queue_.front());
      queue_.pop_front();
      if (next.is_content) {
        GANTRY_RETURN_IF_ERROR(FollowContent(next.digest, next.media_type));
      } else if (followed_snapshots_.insert(next.snapshot).second) {
        auto it = snapshots_.find(next.snapshot);
        if (it == snapshots_.end()) continue;
        if (!it->second.parent.empty()) Snapshot({next.snapshot.snapshotter, it->second.parent});
        LabelRefs(it->second.labels);
      }
    }
    return std::move(reached_);
  }

  Reachable& reached() { return reached_; }

 private:
  struct Pending {
    bool is_content;
    SnapshotRef snapshot;
    std::string digest;
    std::string media_type;
  };

  absl::Status FollowContent(const std::string& digest, const std::string& media_type) {
    if (blobs_.count(digest) == 0) return absl::OkStatus();
    if (followed_content_.insert(digest).second) {
      if (auto it = content_labels_.find(digest); it != content_labels_.end()) {
        LabelRefs(it->second);
      }
    }
    const bool manifest = images::IsManifestMediaType(media_type);
    const bool index = images::IsIndexMediaType(media_type);
    if ((!manifest && !index) || !parsed_.insert(digest).second) return absl::OkStatus();
    absl::StatusOr<std::string> bytes = read_blob_(digest);
    GANTRY_RETURN_IF_ERROR(Annotate(bytes.status(), absl::StrCat("gc: read ", digest)));
    if (index) {
      absl::StatusOr<images::Index> parsed = images::ParseIndex(*bytes);
      if (!parsed.ok()) return absl::OkStatus();
      for (const images::Descriptor& d : parsed->manifests) Content(d.digest, d.media_type);
    } else {
      absl::StatusOr<images::Manifest> parsed = images::ParseManifest(*bytes);
      if (!parsed.ok()) return absl::OkStatus();
      Content(parsed->config.digest, parsed->config.media_type);
      for (const images::Descriptor& d : parsed->layers) Content(d.digest, d.media_type);
    }
    return absl::OkStatus();
  }

  const std::set<std::string> blobs_;
  const std::map<std::string, Labels> content_labels_;
  const std::map<SnapshotRef, SnapshotRow> snapshots_;
  const BlobReader& read_blob_;
  std::deque<Pending> queue_;
  std::set<std::string> followed_content_;
  std::set<std::string> parsed_;
  std::set<SnapshotRef> followed_snapshots_;
  Reachable reached_;
};

}  // namespace

absl::StatusOr<Reachable> Mark(Connection& conn, absl::string_view ns, absl::Time now,
                               const BlobReader& read_blob) {
  std::set<std::string> blobs;
  GANTRY_RETURN_IF_ERROR(ForEachRow(conn, "SELECT digest FROM content_blobs WHERE namespace = ?",
                                    ns,
                                    [&](const Statement& r) { blobs.insert(r.ColumnText(0)); }));
  GANTRY_ASSIGN_OR_RETURN(auto content_labels, LoadLabels(conn, ns, "content_labels", "digest"));
  std::map<SnapshotRef, SnapshotRow> snapshots;
  GANTRY_RETURN_IF_ERROR(
      ForEachRow(conn, "SELECT snapshotter, key, parent FROM snapshots WHERE namespace = ?", ns,
                 [&](const Statement& r) {
                   snapshots[{r.ColumnText(0), r.ColumnText(1)}].parent = r.ColumnText(2);
                 }));
  GANTRY_RETURN_IF_ERROR(ForEachRow(
      conn, "SELECT snapshotter, key, label, value FROM snapshot_labels WHERE namespace = ?", ns,
      [&](const Statement& r) {
        snapshots[{r.ColumnText(0), r.ColumnText(1)}].labels[r.ColumnText(2)] = r.ColumnText(3);
      }));

  Marker marker(blobs, content_labels, snapshots, read_blob);
  // Roots: content and snapshots labelled so.
  for (const auto& [digest, labels] : content_labels) {
    if (labels.count(kRootLabel) != 0) marker.Content(digest);
  }
  for (const auto& [ref, snapshot] : snapshots) {
    if (snapshot.labels.count(kRootLabel) != 0) marker.Snapshot(ref);
  }
  // Images: their targets, and their labels' references.
  GANTRY_RETURN_IF_ERROR(ForEachRow(
      conn, "SELECT target_digest, target_media_type FROM images WHERE namespace = ?", ns,
      [&](const Statement& r) { marker.Content(r.ColumnText(0), r.ColumnText(1)); }));
  GANTRY_ASSIGN_OR_RETURN(auto image_labels, LoadLabels(conn, ns, "image_labels", "name"));
  for (const auto& [name, labels] : image_labels) marker.LabelRefs(labels);
  // Containers: their snapshots, and their labels' references.
  GANTRY_RETURN_IF_ERROR(
      ForEachRow(conn, "SELECT snapshotter, snapshot_key FROM containers WHERE namespace = ?", ns,
                 [&](const Statement& r) {
                   if (!r.ColumnText(1).empty())
                     marker.Snapshot({r.ColumnText(0), r.ColumnText(1)});
                 }));
  GANTRY_ASSIGN_OR_RETURN(auto container_labels,
                          LoadLabels(conn, ns, "container_labels", "container_id"));
  for (const auto& [id, labels] : container_labels) marker.LabelRefs(labels);
  // Leases that have not expired: what they hold.
  std::map<std::string, Labels> leases;
  GANTRY_RETURN_IF_ERROR(ForEachRow(conn, "SELECT id FROM leases WHERE namespace = ?", ns,
                                    [&](const Statement& r) { leases[r.ColumnText(0)]; }));
  GANTRY_ASSIGN_OR_RETURN(auto lease_labels, LoadLabels(conn, ns, "lease_labels", "lease_id"));
  for (auto& [id, labels] : lease_labels) leases[id] = std::move(labels);
  for (const auto& [id, labels] : leases) {
    if (Expired(labels, now)) marker.reached().expired_leases.push_back(id);
  }
  const std::string snapshots_prefix = absl::StrCat(metadata::kLeaseSnapshotsPrefix, "/");
  GANTRY_RETURN_IF_ERROR(ForEachRow(
      conn, "SELECT lease_id, type, id FROM lease_resources WHERE namespace = ?", ns,
      [&](const Statement& r) {
        const Labels& labels = leases[r.ColumnText(0)];
        if (Expired(labels, now)) return;
        const bool follow = labels.count(kFlatLabel) == 0;
        const std::string type = r.ColumnText(1);
        if (type == metadata::kLeaseContent) {
          marker.Content(r.ColumnText(2), "", follow);
        } else if (type == metadata::kLeaseIngests) {
          marker.reached().ingests.insert(r.ColumnText(2));
        } else if (absl::StartsWith(type, snapshots_prefix)) {
          marker.Snapshot({type.substr(snapshots_prefix.size()), r.ColumnText(2)}, follow);
        }
      }));
  return marker.Run();
}

}  // namespace gantry::contd::gc
