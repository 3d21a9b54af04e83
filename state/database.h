// DESIGN
// The daemon's durable state: one SQLite database in the state directory (hotspotd.db), in WAL mode with
// synchronous=FULL, so a committed transaction survives a `kill -9` of the daemon and a power cut. Each part of
// the daemon that keeps state (incidents, detector baselines, the notification outbox, silences and the profile
// index) owns its tables and migrates them itself; the schema version of each part is a row in `schema_versions`,
// and a database written by a newer version is refused rather than misread.
//
// Database is a thin, owning wrapper: prepared statements with bound parameters (never formatted SQL), errors as
// values that name the database file and the statement that failed. Used from one thread at a time (the lifecycle
// thread); SQLite is built thread-safe, so a second connection from another thread is allowed too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hotspotd::state {

// Bytes stored as a BLOB (a TEXT value is a std::string).
struct Blob {
  std::string bytes;
};
// A bound parameter.
using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string, Blob>;

class Database;

// What the daemon says of its state database's writes (/api/v1/status, hotspotd_state_writable): whether the last
// write succeeded, and since when writes fail.
struct WriteHealth {
  bool writable = true;
  std::string error;                 // the last failed write's error
  std::int64_t failing_since_ms = 0;  // the first failure since the last success
  std::uint64_t failures = 0;         // failed writes since start
};

// One prepared statement. bind() then step() until it returns false; or run() for statements without rows.
class Statement {
 public:
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  ~Statement();

  Statement& bind(int index, const Value& value);  // 1-based, as SQLite counts
  // Binds every value in order, from 1.
  Statement& bindAll(const std::vector<Value>& values);
  // Advances to the next row: true while there is one.
  Result<bool> step();
  // Runs to completion and resets for reuse.
  Result<void> run();
  void reset();

  std::int64_t integer(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  bool isNull(int column) const;

 private:
  friend class Database;
  Statement(Database* db, sqlite3_stmt* stmt, std::string sql);
  Database* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

class Database {
 public:
  // Opens (creating if needed) the database file; `:memory:` for tests.
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& path);
  // A second connection for readers on other threads: read-only (PRAGMA query_only), no migrations, so a reader
  // never takes the write lock; in WAL mode it reads the last commit without waiting for the writer.
  static Result<std::unique_ptr<Database>> openReadOnly(const std::filesystem::path& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Result<Statement> prepare(std::string_view sql);
  // Runs one or more statements without parameters (schema changes, pragmas).
  Result<void> exec(std::string_view sql);
  Result<void> begin();
  Result<void> commit();
  void rollback();

  // The schema version recorded for `part` (0 if none), and setting it.
  Result<int> schemaVersion(std::string_view part);
  Result<void> setSchemaVersion(std::string_view part, int version);
  // Runs a schema change and records `part`'s new version, in one transaction (all of it or none).
  Result<void> migrate(std::string_view part, int version, std::string_view sql);

  const std::filesystem::path& path() const { return path_; }
  // Rows changed by the last statement, and the rowid of the last insert.
  std::int64_t changes() const;
  std::int64_t lastInsertId() const;

  // The error text of the last failed call, for messages.
  std::string lastError() const;

  // Called after every write on this connection (a statement that changes the database, BEGIN, COMMIT): true, or
  // false with the error. How the daemon notices a state directory it can no longer write (a full disk, a
  // read-only remount) and reports it while it goes on from memory. Called on the connection's thread.
  void onWrite(std::function<void(bool ok, const std::string& error)> f) { on_write_ = std::move(f); }
  // Called inside every commit on this connection, on its thread, before the commit is durable: how the tests
  // give the daemon a disk that takes a second to sync.
  void onCommit(std::function<void()> f);

 private:
  Database(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  friend class Statement;
  void noteWrite(bool ok, const std::string& error) {
    if (on_write_) on_write_(ok, error);
  }
  sqlite3* db_;
  std::filesystem::path path_;
  std::function<void(bool, const std::string&)> on_write_;
  std::function<void()> on_commit_;
};

}  // namespace hotspotd::state
