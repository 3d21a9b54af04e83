#include "state/database.h"

#include <sqlite3.h>

#include <fmt/format.h>

namespace hotspotd::state {

Statement::Statement(Database* db, sqlite3_stmt* stmt, std::string sql)
    : db_(db), stmt_(stmt), sql_(std::move(sql)) {}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    sql_ = std::move(other.sql_);
  }
  return *this;
}

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, const Value& value) {
  // Binding errors are programming errors (a wrong index); SQLite reports them again at step().
  if (std::holds_alternative<std::nullptr_t>(value)) {
    sqlite3_bind_null(stmt_, index);
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    sqlite3_bind_int64(stmt_, index, *i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    sqlite3_bind_double(stmt_, index, *d);
  } else if (const auto* b = std::get_if<Blob>(&value)) {
    sqlite3_bind_blob(stmt_, index, b->bytes.data(), static_cast<int>(b->bytes.size()), SQLITE_TRANSIENT);
  } else {
    const std::string& s = std::get<std::string>(value);
    sqlite3_bind_text(stmt_, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  return *this;
}

Statement& Statement::bindAll(const std::vector<Value>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) bind(static_cast<int>(i + 1), values[i]);
  return *this;
}

Result<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  const bool writes = sqlite3_stmt_readonly(stmt_) == 0;
  if (rc == SQLITE_DONE) {
    if (writes) db_->noteWrite(true, {});
    return false;
  }
  const std::string error = db_->lastError();
  sqlite3_reset(stmt_);
  std::string message = fmt::format("{}: {} (in: {})", db_->path().string(), error, sql_);
  if (writes) db_->noteWrite(false, message);
  return fail(std::move(message));
}

Result<void> Statement::run() {
  for (;;) {
    auto more = step();
    if (!more) return tl::unexpected(more.error());
    if (!*more) break;
  }
  reset();
  return {};
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }
bool Statement::isNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_blob(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string error = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return fail(fmt::format("cannot open the state database {}: {} (check that the state directory is writable)",
                            path.string(), error));
  }
  std::unique_ptr<Database> db(new Database(raw, path));
  // Another process holding a write lock briefly (sqlite3 on the command line) is waited for, not an error.
  sqlite3_busy_timeout(raw, 5000);
  // WAL with synchronous=FULL: a commit is on disk (the WAL fsynced) before it returns, so the outbox and the
  // incidents survive a power loss, not only a crash of the daemon.
  if (auto ok = db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = db->exec("CREATE TABLE IF NOT EXISTS schema_versions (part TEXT PRIMARY KEY, version INTEGER NOT NULL)");
      !ok) {
    return tl::unexpected(ok.error());
  }
  return db;
}

Result<std::unique_ptr<Database>> Database::openReadOnly(const std::filesystem::path& path) {
  // Read-write at the file level (a WAL reader updates the shared-memory index), read-only by query_only: any
  // statement that would write fails instead.
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string error = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return fail(fmt::format("cannot open the state database {} for reading: {}", path.string(), error));
  }
  std::unique_ptr<Database> db(new Database(raw, path));
  sqlite3_busy_timeout(raw, 5000);
  if (auto ok = db->exec("PRAGMA query_only=ON;"); !ok) return tl::unexpected(ok.error());
  return db;
}

Database::~Database() { sqlite3_close_v2(db_); }

std::string Database::lastError() const { return sqlite3_errmsg(db_); }
std::int64_t Database::changes() const { return sqlite3_changes64(db_); }
std::int64_t Database::lastInsertId() const { return sqlite3_last_insert_rowid(db_); }

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
    return fail(fmt::format("{}: {} (in: {})", path_.string(), lastError(), sql));
  }
  return Statement(this, stmt, std::string(sql));
}

void Database::onCommit(std::function<void()> f) {
  on_commit_ = std::move(f);
  int (*hook)(void*) = [](void* self) {
    static_cast<Database*>(self)->on_commit_();
    return 0;  // go on with the commit
  };
  sqlite3_commit_hook(db_, on_commit_ ? hook : nullptr, this);
}

Result<void> Database::exec(std::string_view sql) {
  char* message = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string error = message ? message : lastError();
    sqlite3_free(message);
    return fail(fmt::format("{}: {} (in: {})", path_.string(), error, sql));
  }
  return {};
}

Result<void> Database::begin() {
  auto ok = exec("BEGIN IMMEDIATE");
  if (!ok) noteWrite(false, ok.error().message);
  return ok;
}

Result<void> Database::commit() {
  auto ok = exec("COMMIT");
  noteWrite(ok.has_value(), ok ? std::string() : ok.error().message);
  return ok;
}
void Database::rollback() { (void)exec("ROLLBACK"); }

Result<int> Database::schemaVersion(std::string_view part) {
  auto stmt = prepare("SELECT version FROM schema_versions WHERE part = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, std::string(part));
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  return *row ? static_cast<int>(stmt->integer(0)) : 0;
}

Result<void> Database::setSchemaVersion(std::string_view part, int version) {
  auto stmt = prepare(
      "INSERT INTO schema_versions (part, version) VALUES (?, ?) "
      "ON CONFLICT (part) DO UPDATE SET version = excluded.version");
  if (!stmt) return tl::unexpected(stmt.error());
  return stmt->bindAll({std::string(part), std::int64_t{version}}).run();
}

Result<void> Database::migrate(std::string_view part, int version, std::string_view sql) {
  if (auto ok = begin(); !ok) return ok;
  auto ok = exec(sql);
  if (ok) ok = setSchemaVersion(part, version);
  if (ok) ok = commit();
  if (!ok) rollback();
  return ok;
}

}  // namespace hotspotd::state
