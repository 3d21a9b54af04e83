#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "daemon/state_dir.h"
#include "tests/support/temp_dir.h"

using hotspotd::daemon::StateDirLock;
using hotspotd::test::TempDir;

TEST_CASE("the state directory is created, private to owner and group, and locked") {
  TempDir tmp;
  const auto dir = tmp.path() / "a" / "state";
  auto lock = StateDirLock::acquire(dir);
  REQUIRE_MESSAGE(lock, lock.error().message);
  CHECK(std::filesystem::is_directory(dir));
  struct stat st {};
  REQUIRE(stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & S_IRWXO) == 0);
}

TEST_CASE("a second holder of the same state directory is refused with the first one's pid") {
  TempDir tmp;
  auto first = StateDirLock::acquire(tmp.path());
  REQUIRE(first);
  auto second = StateDirLock::acquire(tmp.path());
  REQUIRE_FALSE(second);
  CHECK(second.error().message.find("in use by another hotspotd (pid " + std::to_string(getpid()) + ")") !=
        std::string::npos);
}

TEST_CASE("the lock goes with its holder") {
  TempDir tmp;
  {
    auto first = StateDirLock::acquire(tmp.path());
    REQUIRE(first);
  }
  CHECK(StateDirLock::acquire(tmp.path()));
}

TEST_CASE("an unwritable state directory is a clear error") {
  if (geteuid() == 0) {
    MESSAGE("running as root, which can write anywhere: the unwritable case cannot be shown");
    return;
  }
  TempDir tmp;
  std::filesystem::permissions(tmp.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  auto r = StateDirLock::acquire(tmp.path());
  std::filesystem::permissions(tmp.path(), std::filesystem::perms::owner_all);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("cannot write to state directory") != std::string::npos);
}

TEST_CASE("a state directory path that is a file is a clear error") {
  TempDir tmp;
  const auto file = tmp.write("file", "x");
  auto r = StateDirLock::acquire(file);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("set storage.state_dir") != std::string::npos);
}
