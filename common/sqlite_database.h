// A SQLite database file in WAL mode with foreign keys on, whose tables are
// brought up to date by schema steps at open. Every store (contd's metadata,
// engined's containers) runs its statements inside Read or Write, which
// serialize callers and wrap them in one transaction, so a crash leaves
// either the old or the new state.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::sqlite {

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

// A database's tables, as steps per component. steps[i] takes a component
// from version i to i + 1; the version each component has reached is kept in
// the schema_versions table. A released step is never edited: later changes
// append steps or components.
struct SchemaComponent {
  const char* name;
  std::vector<const char*> steps;
};

class Database {
 public:
  // Opens (creating) the file at `path` and brings `schema` up to date.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path,
                                                        const std::vector<SchemaComponent>& schema);

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  virtual ~Database();

  const std::string& path() const { return path_; }

  // Runs fn in a transaction, committed when fn returns OK and rolled back
  // otherwise. Thread-safe; calls run one at a time.
  absl::Status Write(const std::function<absl::Status(Connection&)>& fn);
  absl::Status Read(const std::function<absl::Status(Connection&)>& fn);

 protected:
  Database(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  // Open for subclasses: T (a friend of Database's or with a constructor
  // Database may call) is made from the open file.
  template <typename T>
  static absl::StatusOr<std::unique_ptr<T>> OpenAs(const std::string& path,
                                                   const std::vector<SchemaComponent>& schema) {
    sqlite3* handle = nullptr;
    absl::Status opened = OpenFile(path, &handle);
    std::unique_ptr<T> database(new T(path, handle));  // owns the handle even on failure
    if (!opened.ok()) return opened;
    if (absl::Status status = database->Prepare(schema); !status.ok()) return status;
    return database;
  }

 private:
  static absl::Status OpenFile(const std::string& path, sqlite3** handle);
  absl::Status Prepare(const std::vector<SchemaComponent>& schema);
  absl::Status InTransaction(absl::string_view begin,
                             const std::function<absl::Status(Connection&)>& fn);

  std::string path_;
  sqlite3* db_;
  // One connection shared by all threads: SQLite serializes writers anyway,
  // and contd's metadata traffic is small.
  std::mutex mu_;
};

}  // namespace gantry::sqlite
