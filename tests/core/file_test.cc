// Durable file writes: the whole file or the old one under the name, never a part; failures name the file.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "core/file.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd;

TEST_CASE("writeFile replaces a file whole and leaves no temporary behind") {
  test::TempDir dir;
  const auto path = dir.path() / "meta.json";
  REQUIRE(writeFile(path, "first"));
  REQUIRE(writeFile(path, std::string(1 << 20, 'x')));
  auto read = readFile(path);
  REQUIRE(read);
  CHECK(read->size() == (1u << 20));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "meta.json.tmp"));
}

TEST_CASE("a write that cannot complete keeps the old file and says which file and why") {
  test::TempDir dir;
  const auto path = dir.path() / "stacks.folded";
  REQUIRE(writeFile(path, "old"));
  // The temporary's name is taken by a directory: the write fails before anything is renamed.
  std::filesystem::create_directory(dir.path() / "stacks.folded.tmp");
  auto ok = writeFile(path, "new");
  REQUIRE_FALSE(ok);
  CHECK(ok.error().message.find("stacks.folded") != std::string::npos);
  CHECK(*readFile(path) == "old");
  // A directory that does not exist: an error, not a crash.
  CHECK_FALSE(writeFile(dir.path() / "missing" / "x", "data"));
}

TEST_CASE("writing to a full device fails at write or fsync, never reports success") {
  // /dev/full answers every write with ENOSPC: the error path of a full disk, without filling one.
  if (!std::filesystem::exists("/dev/full")) return;
  test::TempDir dir;
  std::filesystem::create_symlink("/dev/full", dir.path() / "out.tmp");
  auto ok = writeFile(dir.path() / "out", std::string(4096, 'x'));
  REQUIRE_FALSE(ok);
  CHECK(ok.error().message.find("No space left") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "out"));
}

TEST_CASE("readFile and MappedFile give a file's bytes; a file without a size is read to its end") {
  test::TempDir tmp;
  const std::filesystem::path dir = tmp.path();
  std::string big(300'000, 'x');
  for (std::size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>('a' + i % 26);
  REQUIRE(writeFile(dir / "big", big));
  REQUIRE(writeFile(dir / "empty", ""));
  CHECK(*readFile(dir / "big") == big);
  CHECK(readFile(dir / "empty")->empty());
  auto mapped = MappedFile::open(dir / "big");
  REQUIRE(mapped);
  CHECK(mapped->view() == big);
  MappedFile moved = std::move(*mapped);
  CHECK(moved.view() == big);
  // Nothing to map in an empty file; /proc files say they are empty: read to the end all the same.
  CHECK_FALSE(MappedFile::open(dir / "empty"));
  auto status = readFile("/proc/self/status");
  REQUIRE(status);
  CHECK(status->find("VmRSS") != std::string::npos);
  CHECK_FALSE(MappedFile::open("/proc/self/status"));
  // What cannot be read says which file and why.
  auto missing = readFile(dir / "missing");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("missing: cannot open") != std::string::npos);
  auto directory = readFile(dir);
  REQUIRE_FALSE(directory);
  CHECK(directory.error().message.find("cannot read") != std::string::npos);
  CHECK_FALSE(MappedFile::open(dir));
}
