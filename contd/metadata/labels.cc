#include "contd/metadata/labels.h"

#include <google/protobuf/util/time_util.h>
#include "absl/strings/match.h"

#include "contd/timestamps.h"

namespace gantry::contd::metadata {

absl::Status ValidateLabels(absl::string_view what, const StringMap& labels) {
  for (const auto& [key, value] : labels) {
    if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": empty label key"));
    if (key.size() + value.size() > kMaxLabelSize) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": label \"", key, "\" is longer than ", kMaxLabelSize, " bytes"));
    }
  }
  return absl::OkStatus();
}

absl::Status RecordNamespace(Connection& conn, absl::string_view ns) {
  const google::protobuf::Timestamp now = Now();
  GANTRY_ASSIGN_OR_RETURN(Statement add,
                          conn.Prepare("INSERT OR IGNORE INTO namespaces VALUES (?, ?)"));
  return add.Bind(1, ns)
      .Bind(2, google::protobuf::util::TimeUtil::TimestampToNanoseconds(now))
      .Run();
}

absl::Status ReplaceStringMap(Connection& conn, absl::string_view table,
                              absl::string_view owner_column, absl::string_view ns,
                              absl::string_view owner, const StringMap& entries) {
  GANTRY_ASSIGN_OR_RETURN(
      Statement clear, conn.Prepare(absl::StrCat("DELETE FROM ", table, " WHERE namespace = ? AND ",
                                                 owner_column, " = ?")));
  GANTRY_RETURN_IF_ERROR(clear.Bind(1, ns).Bind(2, owner).Run());
  for (const auto& [key, value] : entries) {
    GANTRY_ASSIGN_OR_RETURN(Statement insert, conn.Prepare(absl::StrCat("INSERT INTO ", table,
                                                                        " VALUES (?, ?, ?, ?)")));
    GANTRY_RETURN_IF_ERROR(insert.Bind(1, ns).Bind(2, owner).Bind(3, key).Bind(4, value).Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, StringMap>> LoadStringMaps(Connection& conn,
                                                                absl::string_view table,
                                                                absl::string_view owner_column,
                                                                absl::string_view ns,
                                                                absl::string_view owner) {
  GANTRY_ASSIGN_OR_RETURN(
      Statement rows,
      conn.Prepare(absl::StrCat("SELECT ", owner_column, ", key, value FROM ", table,
                                " WHERE namespace = ?1 AND (?2 = '' OR ", owner_column, " = ?2)")));
  rows.Bind(1, ns).Bind(2, owner);
  std::map<std::string, StringMap> maps;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(bool row, rows.Step());
    if (!row) return maps;
    maps[rows.ColumnText(0)][rows.ColumnText(1)] = rows.ColumnText(2);
  }
}

bool ApplyLabelsPath(absl::string_view path, const StringMap& update, StringMap& stored) {
  if (path == "labels") {
    stored = update;
    return true;
  }
  if (!absl::StartsWith(path, "labels.")) return false;
  const std::string key(path.substr(7));
  auto it = update.find(key);
  if (it == update.end() || it->second.empty()) {
    stored.erase(key);
  } else {
    stored[key] = it->second;
  }
  return true;
}

}  // namespace gantry::contd::metadata
