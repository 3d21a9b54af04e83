// Shards as Prometheus' hashmod relabelling computes them (expected values from MD5 computed independently).
#include <doctest/doctest.h>

#include "ingest/shard.h"

using namespace hotspotd::ingest;

TEST_CASE("hashmod: MD5 of the values joined by ';', its last 8 bytes big-endian, modulo n") {
  CHECK(hashmod({"shop", "/checkout", "GET"}, 3) == 2);
  CHECK(hashmod({"shop", "/checkout", "GET"}, 10) == 4);
  CHECK(hashmod({"shop", "/cart", "GET"}, 10) == 8);
  CHECK(hashmod({"a"}, 10) == 7);
  CHECK(hashmod({}, 10) == 8);  // MD5 of the empty string
  CHECK(hashmod({"shop;/checkout", "GET"}, 10) == hashmod({"shop", "/checkout", "GET"}, 10));  // as Prometheus
}

TEST_CASE("shards: i/n parsed and checked; every endpoint belongs to exactly one of n") {
  auto s = parseShard("1/3");
  REQUIRE(s);
  CHECK(s->index == 1);
  CHECK(s->count == 3);
  for (const char* bad : {"3/3", "1", "/3", "a/3", "1/0", "-1/3", "1/3x"}) {
    CAPTURE(bad);
    auto b = parseShard(bad);
    REQUIRE_FALSE(b);
    CHECK(b.error().message.find("write i/n") != std::string::npos);
  }
  for (const char* route : {"/a", "/b", "/c", "/checkout", "/cart", "/search"}) {
    int owners = 0;
    for (std::uint64_t i = 0; i < 3; ++i) owners += ownedBy(Shard{i, 3}, {"shop", route});
    CHECK(owners == 1);
  }
  CHECK(ownedBy(Shard{0, 1}, {"anything"}));
}
