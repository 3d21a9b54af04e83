#include "ingest/query_feed.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "ingest/series_desc.h"
#include "ingest/text_parser.h"

namespace hotspotd::ingest {
namespace {

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

FeedStats feedAnswers(store::SeriesStore& store, store::GroupId group, std::span<const FedAnswer> answers,
                      const std::function<bool(const RangeSeries&)>& keep) {
  FeedStats stats;
  const std::int64_t last = store.lastScrapeMs(group).value_or(std::numeric_limits<std::int64_t>::min());
  std::map<std::int64_t, std::vector<store::StagedSample>> steps;
  for (const FedAnswer& fed : answers) {
    if (!fed.answer) continue;
    for (const RangeSeries& series : fed.answer->series) {
      if (keep && !keep(series)) continue;
      store::SeriesDesc desc;
      std::string bound_text;
      for (const auto& [k, v] : series.labels) {
        if (k == "__name__") {
          desc.name = v;
        } else {
          desc.labels.emplace_back(k, v);
        }
      }
      if (desc.name.empty()) {
        ++stats.unnamed;
        continue;
      }
      switch (fed.kind) {
        case SelectorKind::counter: desc.role = store::SeriesRole::counter; break;
        case SelectorKind::gauge: desc.role = store::SeriesRole::gauge; break;
        case SelectorKind::histogram: {
          const std::string_view name = desc.name;
          if (endsWith(name, "_bucket")) {
            auto le =
                std::find_if(desc.labels.begin(), desc.labels.end(), [](const auto& l) { return l.first == "le"; });
            const auto bound = le != desc.labels.end() ? TextParser::parseFloat(le->second) : std::nullopt;
            if (!bound || std::isnan(*bound)) {
              ++stats.unusable;
              continue;
            }
            desc.role = store::SeriesRole::bucket;
            desc.bound = *bound;
            bound_text = canonicalBound(*bound);  // "1" and "1.0" are one series, as in scrapes
            le->second = bound_text;
            desc.histogram = name.substr(0, name.size() - 7);
          } else if (endsWith(name, "_sum")) {
            desc.role = store::SeriesRole::sum;
            desc.histogram = name.substr(0, name.size() - 4);
          } else if (endsWith(name, "_count")) {
            desc.role = store::SeriesRole::count;
            desc.histogram = name.substr(0, name.size() - 6);
          } else {
            ++stats.unusable;
            continue;
          }
          break;
        }
      }
      const store::SeriesRef ref = store.resolve(group, desc);
      for (const auto& [t, v] : series.points) {
        if (t <= last) {
          ++stats.old;
          continue;
        }
        steps[t].push_back(store::StagedSample{ref, v});
      }
    }
  }
  for (const auto& [t, batch] : steps) {
    const auto c = store.commit(group, t, batch);
    ++stats.steps;
    stats.appended += c.appended;
  }
  return stats;
}

}  // namespace hotspotd::ingest
