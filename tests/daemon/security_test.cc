// The HTTP server's security: bcrypt basic auth (right, wrong, unknown user, no header; probes stay open), HTTPS
// with the configured certificate, and mutating requests refused when a browser says they come from another site.
#include <doctest/doctest.h>

#include <signal.h>

#include "core/file.h"
#include "daemon/auth.h"
#include "tests/support/daemon_fixture.h"

using hotspotd::daemon::AuthResult;
using hotspotd::daemon::BasicAuth;
using hotspotd::daemon::checkBcryptHash;
using hotspotd::daemon::hashPassword;
using hotspotd::test::basicAuth;
using hotspotd::test::ChildProcess;
using hotspotd::test::listenPort;
using hotspotd::test::QueueService;
using hotspotd::test::TempDir;
using hotspotd::test::writeConfig;
using namespace std::chrono_literals;

TEST_CASE("bcrypt basic auth: the right password passes, anything else does not") {
  auto hash = hashPassword("open sesame", 4);
  REQUIRE(hash);
  CHECK(checkBcryptHash(*hash));
  CHECK_FALSE(checkBcryptHash("open sesame"));       // a plain password is refused in the config
  CHECK_FALSE(checkBcryptHash("$1$abc$def"));        // not bcrypt
  CHECK_FALSE(hashPassword("x", 3));                 // cost too low
  BasicAuth auth({{"Aladdin", *hash}});
  CHECK(auth.enabled());
  auto ok = [&](const std::string& header) { return auth.check(header, "10.0.0.1") == AuthResult::ok; };
  CHECK(ok(basicAuth("Aladdin", "open sesame")));
  CHECK(ok(basicAuth("Aladdin", "open sesame")));  // remembered, still right
  CHECK_FALSE(ok(basicAuth("Aladdin", "open sesame!")));
  CHECK_FALSE(ok(basicAuth("Aladdin", "")));
  CHECK_FALSE(ok(basicAuth("aladdin", "open sesame")));
  CHECK_FALSE(ok(basicAuth("Jafar", "open sesame")));
  CHECK_FALSE(ok(""));
  CHECK_FALSE(ok("Bearer open sesame"));
  CHECK_FALSE(ok("Basic !!!"));
  CHECK(BasicAuth({}).check("", "10.0.0.1") == AuthResult::ok);  // no users: no authentication
}

TEST_CASE("failed logins are limited per client without checking the password; a known user is not slowed") {
  auto hash = hashPassword("open sesame", 4);
  REQUIRE(hash);
  BasicAuth auth({{"Aladdin", *hash}});
  REQUIRE(auth.check(basicAuth("Aladdin", "open sesame"), "10.0.0.1") == AuthResult::ok);
  // An attacker at 10.0.0.2 guesses: after a burst of ten wrong passwords, the next try is refused without bcrypt,
  // even with the right password.
  int denied = 0;
  for (int i = 0; i < 10; ++i) denied += auth.check(basicAuth("Aladdin", "guess" + std::to_string(i)), "10.0.0.2") == AuthResult::denied;
  CHECK(denied == 10);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) CHECK(auth.check(basicAuth("Aladdin", "more guesses"), "10.0.0.2") == AuthResult::limited);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));  // no bcrypt ran
  // The user who logged in before goes on, from its own address and from the attacker's.
  CHECK(auth.check(basicAuth("Aladdin", "open sesame"), "10.0.0.1") == AuthResult::ok);
  CHECK(auth.check(basicAuth("Aladdin", "open sesame"), "10.0.0.2") == AuthResult::ok);
  // Another client is not affected.
  CHECK(auth.check(basicAuth("Aladdin", "wrong"), "10.0.0.3") == AuthResult::denied);
}

TEST_CASE("a daemon with HTTPS and basic auth: TLS with its certificate, 401 without the password, probes open") {
  TempDir dir;
  const auto cert = dir.path() / "cert.pem", key = dir.path() / "key.pem";
  const std::string openssl = fmt::format(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
      "-keyout {} -out {} 2>/dev/null",
      key.string(), cert.string());
  REQUIRE(std::system(openssl.c_str()) == 0);
  auto hash = hashPassword("s3cret pass", 4);
  REQUIRE(hash);
  QueueService app;
  const auto config = writeConfig(dir, app.address, "");
  // [server] is the config's first table: add TLS and users to it.
  std::string text = *hotspotd::readFile(config);
  const std::string server = fmt::format("[server]\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n"
                                         "basic_auth_users = {{ ana = \"{}\" }}\n",
                                         cert.string(), key.string(), *hash);
  text.replace(text.find("[server]\n"), 9, server);
  dir.write("hotspotd.toml", text);

  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  const int port = listenPort(daemon);
  REQUIRE_MESSAGE(daemon.waitForLine("Ready", 20s), daemon.output());
  CHECK(daemon.output().find("tls=true") != std::string::npos);

  httplib::SSLClient client("127.0.0.1", port);
  client.set_ca_cert_path(cert.string().c_str());
  client.enable_server_certificate_verification(true);
  client.set_read_timeout(10, 0);
  auto no_auth = client.Get("/api/v1/status");
  REQUIRE(no_auth);
  CHECK(no_auth->status == 401);
  CHECK(no_auth->get_header_value("WWW-Authenticate").find("Basic") == 0);
  CHECK(no_auth->get_header_value("X-Content-Type-Options") == "nosniff");
  CHECK(client.Get("/metrics", {{"Authorization", basicAuth("ana", "wrong")}})->status == 401);
  CHECK(client.Get("/metrics", {{"Authorization", basicAuth("bob", "s3cret pass")}})->status == 401);
  auto ok = client.Get("/api/v1/status", {{"Authorization", basicAuth("ana", "s3cret pass")}});
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(client.Get("/-/healthy")->status == 200);  // probes need no password
  CHECK(client.Get("/-/ready")->status == 200);

  // Plain HTTP to the HTTPS port gets nothing useful.
  httplib::Client plain("127.0.0.1", port);
  plain.set_read_timeout(5, 0);
  auto p = plain.Get("/-/healthy");
  CHECK((!p || p->status != 200));

  // A browser page of another site may not change anything, even with the password.
  const httplib::Headers auth{{"Authorization", basicAuth("ana", "s3cret pass")}};
  const std::string silence =
      R"({"matchers": ["queue=\"q1\""], "duration": "1h", "createdBy": "ana", "comment": "test"})";
  httplib::Headers evil = auth;
  evil.emplace("Origin", "https://evil.example");
  CHECK(client.Post("/api/v1/silences", evil, silence, "application/json")->status == 403);
  httplib::Headers fetch = auth;
  fetch.emplace("Sec-Fetch-Site", "cross-site");
  CHECK(client.Post("/api/v1/silences", fetch, silence, "application/json")->status == 403);
  httplib::Headers same = auth;
  same.emplace("Origin", fmt::format("https://127.0.0.1:{}", port));
  same.emplace("Sec-Fetch-Site", "same-origin");
  CHECK(client.Post("/api/v1/silences", same, silence, "application/json")->status == 200);
  CHECK(client.Post("/api/v1/silences", auth, silence, "application/json")->status == 200);  // curl, a script
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == 0);
}

TEST_CASE("a certificate that does not match its key stops the daemon with what to check") {
  TempDir dir;
  for (const char* name : {"a", "b"}) {
    const std::string cmd = fmt::format(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=x -keyout {0}/{1}.key -out {0}/{1}.pem "
        "2>/dev/null",
        dir.path().string(), name);
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  const auto config = dir.write("hotspotd.toml", fmt::format("[server]\nlisten = \"127.0.0.1:0\"\ntls_cert_file = "
                                                             "\"a.pem\"\ntls_key_file = \"b.key\"\n[storage]\n"
                                                             "state_dir = \"state\"\n"));
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  CHECK(daemon.wait(20s) == 1);
  CHECK_MESSAGE(daemon.output().find("the key belongs to the certificate") != std::string::npos, daemon.output());
}
