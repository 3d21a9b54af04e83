#include "detectors/quantile.h"

#include <cmath>
#include <limits>
#include <vector>

#include <boost/math/special_functions/beta.hpp>

namespace hotspotd::detectors {

QuantileEstimate bucketQuantile(double q, std::span<const Bucket> input) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (std::isnan(q)) return {kNaN, kNaN, kNaN};
  if (q < 0) return {-kInf, -kInf, -kInf};
  if (q > 1) return {kInf, kInf, kInf};
  if (input.size() < 2 || !std::isinf(input.back().upper_bound) || input.back().upper_bound < 0) {
    return {kNaN, kNaN, kNaN};
  }
  // Monotonicity repair: a cumulative count below an earlier one (scrape races, float noise) takes that value.
  std::vector<Bucket> b(input.begin(), input.end());
  double max = b.front().count;
  for (auto& bucket : b) {
    if (bucket.count < max) bucket.count = max;
    max = bucket.count;
  }
  const double total = b.back().count;
  if (total <= 0 || std::isnan(total)) return {kNaN, kNaN, kNaN};

  double rank = q * total;
  std::size_t i = 0;
  while (i < b.size() - 1 && b[i].count < rank) ++i;
  if (i == b.size() - 1) {
    // Past the last finite bound: Prometheus answers with that bound.
    const double last = b[b.size() - 2].upper_bound;
    return {last, last, kInf};
  }
  if (i == 0 && b[0].upper_bound <= 0) return {b[0].upper_bound, b[0].upper_bound, b[0].upper_bound};
  const double start = i == 0 ? 0 : b[i - 1].upper_bound;
  const double end = b[i].upper_bound;
  const double below = i == 0 ? 0 : b[i - 1].count;
  const double in_bucket = b[i].count - below;
  rank -= below;
  const double value = in_bucket > 0 ? start + (end - start) * (rank / in_bucket) : end;
  return {value, start, end};
}

double binomialUpperTail(double n, double x, double p) {
  n = std::round(n);
  x = std::round(x);
  if (x <= 0) return 1;
  if (x > n || p <= 0) return 0;
  if (p >= 1) return 1;
  return boost::math::ibeta(x, n - x + 1, p);
}

}  // namespace hotspotd::detectors
