// The one URL parser: what each part becomes, defaults, and the errors that say what is wrong.
#include <doctest/doctest.h>

#include "core/url.h"

using hotspotd::parseHttpUrl;

TEST_CASE("http and https URLs are split into scheme, host, port, target and credentials") {
  auto a = parseHttpUrl("https://hooks.slack.com/services/T0/B0/xyz");
  REQUIRE(a);
  CHECK(a->scheme == "https");
  CHECK(a->host == "hooks.slack.com");
  CHECK(a->port == "443");
  CHECK_FALSE(a->explicit_port);
  CHECK(a->target == "/services/T0/B0/xyz");
  CHECK(a->hostHeader() == "hooks.slack.com");
  auto b = parseHttpUrl("http://user:pa:ss@[::1]:9090?x=1");
  REQUIRE(b);
  CHECK(b->host == "::1");
  CHECK(b->port == "9090");
  CHECK(b->target == "/?x=1");
  CHECK(b->userinfo == "user:pa:ss");
  CHECK(b->origin() == "http://[::1]:9090");
  auto c = parseHttpUrl("http://127.0.0.1:8080");
  REQUIRE(c);
  CHECK(c->target == "/");
  CHECK(c->hostHeader() == "127.0.0.1:8080");
}

TEST_CASE("a URL that is not http(s), has no host, a bad port or a fragment is refused with the reason") {
  auto check = [](const char* url, const char* why) {
    CAPTURE(url);
    auto r = parseHttpUrl(url);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(why) != std::string::npos);
  };
  check("hooks.slack.com/x", "is not a URL");
  check("ftp://host/x", "is not http or https");
  check("http:///x", "no host");
  check("http://host:0/", "is not a number from 1 to 65535");
  check("http://host:99999/", "is not a number from 1 to 65535");
  check("http://host:/", "is not a number from 1 to 65535");
  check("http://[::1/", "unclosed '['");
  check("http://host/#top", "no #fragment");
}
