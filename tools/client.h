// The terminal client, as amtool is for Alertmanager: `hotspotd incidents`, `incident ID`, `silence add|query|expire`,
// `profiles` and `hotspots` against a running daemon's JSON API (/api/v1/...). Tables for people, `-o json` for
// scripts (the API's `data`, unchanged). Basic auth from --auth-file, HOTSPOTD_AUTH_FILE or HOTSPOTD_AUTH. Each
// command returns the process exit code: 0 done, 1 when the daemon is unreachable, refuses or answers an error (said
// on standard error with what to do), 2 on a usage error.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/duration.h"

namespace hotspotd::tools {

struct ClientOptions {
  std::string url;               // empty: $HOTSPOTD_URL, else http://127.0.0.1:9464
  std::string auth_file;         // empty: $HOTSPOTD_AUTH_FILE; the file's first line is user:password
  std::string output = "table";  // table or json
  Duration timeout = std::chrono::seconds(10);
  std::string tls_ca_file;
  bool tls_insecure_skip_verify = false;
};

struct IncidentsQuery {
  std::string state;                  // open, pending, firing, resolved; empty: all
  std::string rule;                   // empty: every rule
  std::vector<std::string> matchers;  // name="value", name=value, name=~"re", ...; all must hold
  std::size_t limit = 100;
};
int runIncidents(const ClientOptions& options, const IncidentsQuery& query);
int runIncident(const ClientOptions& options, const std::string& id);

struct SilenceAdd {
  std::vector<std::string> matchers;
  std::string duration = "1h";  // or `end`
  std::string start;            // RFC 3339; empty: now
  std::string end;              // RFC 3339
  std::string author;           // empty: $USER
  std::string comment;
};
int runSilenceAdd(const ClientOptions& options, const SilenceAdd& silence);
// The silences in effect or pending (with `expired`, the expired ones too) whose matchers include every given one.
int runSilenceQuery(const ClientOptions& options, const std::vector<std::string>& matchers, bool expired);
int runSilenceExpire(const ClientOptions& options, const std::vector<std::string>& ids);

int runProfiles(const ClientOptions& options, const std::string& target, const std::string& incident,
                std::size_t limit);
int runHotspots(const ClientOptions& options, std::size_t limit);

// A matcher as people type it (`route=/checkout`, `route="/checkout"`, `code=~"5.."`) in the API's quoted form
// (`route="/checkout"`), or an error that says what is wrong with it.
Result<std::string> normaliseMatcher(const std::string& text);

}  // namespace hotspotd::tools
