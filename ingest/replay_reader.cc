#include "ingest/replay_reader.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/file.h"
#include "core/gzip.h"
#include "ingest/series_desc.h"

namespace hotspotd::ingest {
namespace {

// Replay files may be large: decompressed input is capped well above any recording this is meant for.
constexpr std::size_t kMaxReplayBytes = std::size_t{4} << 30;

}  // namespace

Result<ReplayReader> ReplayReader::open(const std::filesystem::path& path) {
  auto read = readFile(path);
  if (!read) return tl::unexpected(read.error());
  std::string text = std::move(*read);
  if (looksGzipped(text)) {
    auto inflated = gunzip(text, kMaxReplayBytes);
    if (!inflated) return fail(fmt::format("{}: {}", path.string(), inflated.error().message));
    text = std::move(*inflated);
  }
  return fromText(std::move(text), path.string());
}

Result<ReplayReader> ReplayReader::fromText(std::string text, const std::string& name) {
  ReplayReader r;
  r.text_ = std::move(text);
  std::string_view body = r.text_;
  while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) body.remove_suffix(1);
  const auto format = body.ends_with("# EOF") ? ExpositionFormat::openmetrics : ExpositionFormat::prometheus_text;
  ParseLimits limits;
  limits.max_samples = std::numeric_limits<std::size_t>::max();
  limits.allow_repeated_families = true;
  auto parsed = parseExposition(r.text_, format, limits);
  if (!parsed) return fail(fmt::format("{}: {}", name, parsed.error().message));
  r.parsed_ = std::move(*parsed);
  for (std::size_t i = 0; i < r.parsed_.samples.size(); ++i) {
    const ParsedSample& s = r.parsed_.samples[i];
    if (!s.timestamp_ms) {
      return fail(
          fmt::format("{}: sample {} has no timestamp (a replay file needs one on every sample)", name, s.name));
    }
  }
  r.order_.resize(r.parsed_.samples.size());
  for (std::uint32_t i = 0; i < r.order_.size(); ++i) r.order_[i] = i;
  std::stable_sort(r.order_.begin(), r.order_.end(), [&](std::uint32_t a, std::uint32_t b) {
    return *r.parsed_.samples[a].timestamp_ms < *r.parsed_.samples[b].timestamp_ms;
  });
  return r;
}

bool ReplayReader::next(std::int64_t& t_ms, std::vector<const ParsedSample*>& samples) {
  samples.clear();
  if (cursor_ >= order_.size()) return false;
  t_ms = *parsed_.samples[order_[cursor_]].timestamp_ms;
  while (cursor_ < order_.size() && *parsed_.samples[order_[cursor_]].timestamp_ms == t_ms) {
    samples.push_back(&parsed_.samples[order_[cursor_]]);
    ++cursor_;
  }
  return true;
}

store::CommitStats ReplayReader::commit(store::SeriesStore& store, store::GroupId group, std::int64_t t_ms,
                                        const std::vector<const ParsedSample*>& samples) {
  std::vector<store::StagedSample> batch;
  batch.reserve(samples.size());
  std::vector<std::string> normalised;
  std::vector<std::pair<std::size_t, store::Exemplar>> exemplars;  // bucket exemplars, by batch index
  for (const ParsedSample* s : samples) {
    if (s->kind == SampleKind::created) continue;
    store::SeriesDesc desc;
    desc.name = s->name;
    desc.role = seriesRole(s->type, s->kind);
    normalised.clear();
    normalised.reserve(1);
    for (const auto& [k, v] : s->labels) desc.labels.emplace_back(k, v);
    if (s->type == MetricType::histogram && desc.role != store::SeriesRole::gauge) {
      desc.histogram = s->family;
      if (desc.role == store::SeriesRole::bucket) {
        for (auto& [k, v] : desc.labels) {
          if (k != "le") continue;
          const double bound = TextParser::parseFloat(v).value_or(NAN);
          desc.bound = bound;
          normalised.push_back(canonicalBound(bound));
          v = normalised.back();
        }
      }
    }
    batch.push_back(store::StagedSample{store.resolve(group, desc), s->value});
    if (desc.role == store::SeriesRole::bucket && s->exemplar_labels) {
      exemplars.emplace_back(batch.size() - 1, store::Exemplar{*s->exemplar_labels, s->exemplar_value,
                                                               s->exemplar_timestamp_ms.value_or(t_ms)});
    }
  }
  const store::CommitStats stats = store.commit(group, t_ms, batch);
  for (auto& [index, exemplar] : exemplars) store.setExemplar(batch[index].ref, std::move(exemplar));
  return stats;
}

std::int64_t ReplayReader::firstMs() const {
  return order_.empty() ? 0 : *parsed_.samples[order_.front()].timestamp_ms;
}

std::int64_t ReplayReader::lastMs() const {
  return order_.empty() ? 0 : *parsed_.samples[order_.back()].timestamp_ms;
}

}  // namespace hotspotd::ingest
