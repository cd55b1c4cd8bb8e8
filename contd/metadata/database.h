// contd's metadata database: one SQLite file, <root>/metadata.db, in WAL mode
// with foreign keys on. Every store (containers now; images, leases and
// snapshots later) runs its statements inside Read or Write, which serialize
// callers and wrap them in one transaction, so a crash leaves either the old
// or the new state.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::contd::metadata {

// A prepared statement; Bind* take 1-based indexes as SQLite does, Column*
// 0-based ones.
class Statement {
 public:
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  Statement& Bind(int index, absl::string_view text);
  Statement& BindBlob(int index, absl::string_view bytes);
  Statement& Bind(int index, int64_t value);

  // true when a row is ready, false when done. A violated uniqueness
  // constraint is ALREADY_EXISTS; a failed Bind is reported here.
  absl::StatusOr<bool> Step();
  // Runs to completion, for statements that return no rows.
  absl::Status Run();

  std::string ColumnText(int column) const;
  int64_t ColumnInt(int column) const;
  bool ColumnIsNull(int column) const;

 private:
  friend class Connection;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  // Binds chain, so their first failure is kept for Step to report.
  void KeepBindError(int rc);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_error_ = SQLITE_OK;
};

// The open database as a store sees it inside a transaction.
class Connection {
 public:
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  // Runs statements that take no parameters and return no rows.
  absl::Status Exec(absl::string_view sql);
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t Changes() const;

 private:
  friend class Database;
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

class Database {
 public:
  // Opens (creating) <root>/metadata.db and brings its schema up to date
  // (contd/metadata/schema.h).
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& root);

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  const std::string& path() const { return path_; }

  // Runs fn in a transaction, committed when fn returns OK and rolled back
  // otherwise. Thread-safe; calls run one at a time.
  absl::Status Write(const std::function<absl::Status(Connection&)>& fn);
  absl::Status Read(const std::function<absl::Status(Connection&)>& fn);

  // Namespaces that objects have been created in, sorted.
  absl::StatusOr<std::vector<std::string>> ListNamespaces();

  // Garbage collection holds this exclusively from its mark to the end of
  // its sweep. A writer that creates an object and then references it (a
  // lease resource, an image record) in separate transactions holds it
  // shared across both, so the collector never sees the object between
  // them (containerd's metadata.DB write lock). Never taken recursively.
  std::shared_mutex& gc_lock() { return gc_lock_; }

 private:
  Database(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  absl::Status InTransaction(absl::string_view begin,
                             const std::function<absl::Status(Connection&)>& fn);

  std::string path_;
  sqlite3* db_;
  // One connection shared by all threads: SQLite serializes writers anyway,
  // and contd's metadata traffic is small.
  std::mutex mu_;
  std::shared_mutex gc_lock_;
};

}  // namespace gantry::contd::metadata
