// Fuzz target for every other parser of outside input, one chosen by the first byte (the rest is the input): RFC
// 3339 times, durations, Retry-After and byte sizes, selectors and alert matchers, URLs and listen addresses,
// message templates (rendered with Slack escaping), rule files, the config file, silence requests, Prometheus
// query API answers, file_sd files, outbox entries and replay recordings (read scrape by scrape). Nothing may crash, hang or read out of bounds. Built with
// libFuzzer under clang (HOTSPOTD_FUZZ=ON); the same function replays fuzz/corpus/inputs as a normal test.
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "alerting/notifier.h"
#include "alerting/payloads.h"
#include "alerting/routing.h"
#include "core/duration.h"
#include "core/rfc3339.h"
#include "ingest/replay_reader.h"
#include "core/selector.h"
#include "core/toml_reader.h"
#include "core/url.h"
#include "daemon/api.h"
#include "daemon/config.h"
#include "ingest/file_sd.h"
#include "ingest/query_api.h"
#include "rules/rule_loader.h"
#include "rules/template.h"

namespace {

using namespace hotspotd;

void fileSd(std::string_view text) {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("hotspotd-fuzz-sd-" + std::to_string(::getpid()) + ".json");
  static const struct RemoveAtExit {
    ~RemoveAtExit() { std::filesystem::remove(path); }
  } remove_at_exit;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  ingest::FileSd sd({path.string()});
  std::vector<std::string> errors;
  (void)sd.refresh(errors);
  (void)sd.groups();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 12) {
    case 0:
      (void)parseRfc3339(text);
      break;
    case 1:
      (void)parseDuration(text);
      (void)parseRetryAfter(text, std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000)));
      (void)parseByteSize(text);
      break;
    case 2:
      (void)parseSelector(text);
      (void)alerting::parseMatchers({std::string(text)});
      break;
    case 3:
      (void)parseHttpUrl(text);
      (void)daemon::parseListenAddress(text);
      break;
    case 4:
      if (auto t = rules::Template::parse(text)) {
        const std::vector<std::pair<std::string, std::string>> labels = {{"route", "/a<b>&c"}, {"code", "500"}};
        const std::vector<std::pair<std::string, double>> evidence = {{"p99", 1.5}};
        rules::TemplateData d;
        d.labels = &labels;
        d.evidence = &evidence;
        d.value = 0.25;
        d.alertname = "Slow";
        d.severity = "page";
        (void)t->render(d);
        (void)t->render(d, &alerting::slackEscape);
      }
      (void)rules::checkTraceUrl(text);
      break;
    case 5:
      (void)rules::parseRules(text, "fuzz.toml");
      break;
    case 6:
      (void)daemon::parseConfig(text, "fuzz.toml", "/nonexistent-hotspotd-fuzz");
      break;
    case 7:
      (void)daemon::parseSilenceRequest(text, 1'700'000'000'000);
      break;
    case 8:
      (void)ingest::readRangeAnswer(200, {}, text);
      (void)ingest::readRangeAnswer(429, text, {});
      (void)ingest::readRangeAnswer(503, {}, text);
      break;
    case 9:
      fileSd(text);
      break;
    case 10:
      (void)alerting::alertFromJson(std::string(text));
      break;
    case 11:
      if (auto r = ingest::ReplayReader::fromText(std::string(text), "fuzz.om")) {
        store::SeriesStore store;
        ingest::TargetIngester ingester(store, store.addGroup("fuzz"), {});
        std::int64_t t = 0;
        while (r->next(t) && r->commit(ingester)) {
        }
      }
      break;
  }
  return 0;
}
