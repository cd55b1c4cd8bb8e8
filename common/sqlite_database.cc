#include "common/sqlite_database.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry::sqlite {
namespace {

// How long a statement waits for another process holding the file (sqlite3
// CLI, a backup) before failing with "database is locked".
constexpr int kBusyTimeoutMs = 5000;

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  // The extended code tells a duplicate key from, say, a foreign key that
  // points nowhere; both are SQLITE_CONSTRAINT.
  const int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  absl::StatusCode code = absl::StatusCode::kInternal;
  if (extended == SQLITE_CONSTRAINT_PRIMARYKEY || extended == SQLITE_CONSTRAINT_UNIQUE) {
    code = absl::StatusCode::kAlreadyExists;
  } else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    code = absl::StatusCode::kFailedPrecondition;
  } else if ((rc & 0xff) == SQLITE_BUSY) {
    code = absl::StatusCode::kUnavailable;
  } else if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT) {
    code = absl::StatusCode::kDataLoss;
  }
  return absl::Status(code, absl::StrCat(what, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

absl::Status ApplySchema(Connection& conn, const std::vector<SchemaComponent>& schema) {
  GANTRY_RETURN_IF_ERROR(
      conn.Exec("CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, "
                "version INTEGER NOT NULL) WITHOUT ROWID"));
  for (const SchemaComponent& component : schema) {
    GANTRY_ASSIGN_OR_RETURN(
        Statement query, conn.Prepare("SELECT version FROM schema_versions WHERE component = ?"));
    query.Bind(1, component.name);
    GANTRY_ASSIGN_OR_RETURN(bool found, query.Step());
    const int64_t version = found ? query.ColumnInt(0) : 0;
    if (version > static_cast<int64_t>(component.steps.size())) {
      return absl::FailedPreconditionError(
          absl::StrCat("schema of ", component.name, " is at version ", version,
                       ", newer than this program knows (", component.steps.size(), ")"));
    }
    for (size_t step = version; step < component.steps.size(); ++step) {
      GANTRY_RETURN_IF_ERROR(Annotate(conn.Exec(component.steps[step]),
                                      absl::StrCat("schema ", component.name, " step ", step + 1)));
    }
    GANTRY_ASSIGN_OR_RETURN(Statement record,
                            conn.Prepare("INSERT OR REPLACE INTO schema_versions VALUES (?, ?)"));
    GANTRY_RETURN_IF_ERROR(
        record.Bind(1, component.name).Bind(2, static_cast<int64_t>(component.steps.size())).Run());
  }
  return absl::OkStatus();
}

}  // namespace

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), bind_error_(other.bind_error_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int index, absl::string_view text) {
  KeepBindError(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                                  SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::BindBlob(int index, absl::string_view bytes) {
  KeepBindError(sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()),
                                  SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  KeepBindError(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

void Statement::KeepBindError(int rc) {
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
}

absl::StatusOr<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) {
    return SqliteError(db_, bind_error_, absl::StrCat("bind parameters of ", sqlite3_sql(stmt_)));
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, sqlite3_sql(stmt_));
}

absl::Status Statement::Run() {
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

std::string Statement::ColumnText(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
}

int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

absl::StatusOr<Statement> Connection::Prepare(absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, absl::StrCat("prepare ", sql));
  return Statement(db_, stmt);
}

absl::Status Connection::Exec(absl::string_view sql) {
  const std::string statements(sql);
  const int rc = sqlite3_exec(db_, statements.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, statements);
  return absl::OkStatus();
}

int64_t Connection::Changes() const { return sqlite3_changes64(db_); }

absl::StatusOr<std::unique_ptr<Database>> Database::Open(
    const std::string& path, const std::vector<SchemaComponent>& schema) {
  return OpenAs<Database>(path, schema);
}

absl::Status Database::OpenFile(const std::string& path, sqlite3** handle) {
  const int rc =
      sqlite3_open_v2(path.c_str(), handle,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return SqliteError(*handle, rc, absl::StrCat("open ", path));
  return absl::OkStatus();
}

absl::Status Database::Prepare(const std::vector<SchemaComponent>& schema) {
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  Connection conn(db_);
  // synchronous=FULL: a committed transaction survives a power cut, which
  // WAL's default (NORMAL) does not promise.
  GANTRY_RETURN_IF_ERROR(Annotate(conn.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                            "PRAGMA foreign_keys=ON"),
                                  path_));
  return Annotate(Write([&schema](Connection& c) { return ApplySchema(c, schema); }), path_);
}

Database::~Database() { sqlite3_close_v2(db_); }

absl::Status Database::Write(const std::function<absl::Status(Connection&)>& fn) {
  // IMMEDIATE takes the write lock up front, so a transaction never fails
  // half-way on a lock another process holds.
  return InTransaction("BEGIN IMMEDIATE", fn);
}

absl::Status Database::Read(const std::function<absl::Status(Connection&)>& fn) {
  return InTransaction("BEGIN", fn);
}

absl::Status Database::InTransaction(absl::string_view begin,
                                     const std::function<absl::Status(Connection&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  Connection conn(db_);
  GANTRY_RETURN_IF_ERROR(conn.Exec(begin));
  absl::Status status = fn(conn);
  if (status.ok()) status = conn.Exec("COMMIT");
  if (!status.ok()) (void)conn.Exec("ROLLBACK");
  return status;
}

}  // namespace gantry::sqlite
