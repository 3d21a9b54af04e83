#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "detectors/quantile.h"

using namespace hotspotd::detectors;

namespace {
const double kInf = INFINITY;
}

TEST_CASE("quantiles interpolate within the bucket and report its bounds, as histogram_quantile does") {
  // 100 requests: 50 at or under 0.1s, 90 at or under 0.5s, 99 at or under 1s, 100 in all.
  const std::vector<Bucket> b{{0.1, 50}, {0.5, 90}, {1, 99}, {kInf, 100}};
  auto p50 = bucketQuantile(0.5, b);
  CHECK(p50.value == doctest::Approx(0.1));
  CHECK(p50.lower == 0);
  CHECK(p50.upper == 0.1);
  auto p75 = bucketQuantile(0.75, b);
  CHECK(p75.value == doctest::Approx(0.1 + 0.4 * (25.0 / 40.0)));
  CHECK(p75.lower == 0.1);
  CHECK(p75.upper == 0.5);
  auto p99 = bucketQuantile(0.99, b);
  CHECK(p99.value == doctest::Approx(1.0));
  CHECK(p99.lower == 0.5);
}

TEST_CASE("a quantile past the last finite bucket is that bucket's bound, with +Inf above") {
  const std::vector<Bucket> b{{0.1, 10}, {1, 20}, {kInf, 100}};
  auto p99 = bucketQuantile(0.99, b);
  CHECK(p99.value == 1);
  CHECK(p99.lower == 1);
  CHECK(std::isinf(p99.upper));
}

TEST_CASE("non-monotonic buckets are repaired, not trusted") {
  const std::vector<Bucket> b{{0.1, 50}, {0.5, 40}, {1, 100}, {kInf, 100}};
  // le=0.5 is raised to 50: the 0.5 rank (50) lands in the first bucket.
  CHECK(bucketQuantile(0.5, b).value == doctest::Approx(0.1));
}

TEST_CASE("empty, malformed and out-of-range inputs follow Prometheus") {
  CHECK(std::isnan(bucketQuantile(0.5, std::vector<Bucket>{{0.1, 0}, {kInf, 0}}).value));
  CHECK(std::isnan(bucketQuantile(0.5, std::vector<Bucket>{{0.1, 5}, {1, 6}}).value));  // no +Inf
  CHECK(std::isnan(bucketQuantile(0.5, std::vector<Bucket>{{kInf, 5}}).value));
  CHECK(bucketQuantile(-0.1, std::vector<Bucket>{{0.1, 5}, {kInf, 6}}).value == -kInf);
  CHECK(bucketQuantile(1.1, std::vector<Bucket>{{0.1, 5}, {kInf, 6}}).value == kInf);
  // A first bucket with a non-positive bound answers with that bound.
  CHECK(bucketQuantile(0.1, std::vector<Bucket>{{-1, 5}, {0, 6}, {kInf, 10}}).value == -1);
}

TEST_CASE("the exact binomial tail, where the normal approximation overstates significance") {
  // Values from exact sums (Python's fractions): 9 of 839 above a bound 0.26% of requests pass.
  CHECK(binomialUpperTail(839, 9, 0.0026) == doctest::Approx(0.00043137104188042225).epsilon(1e-9));
  CHECK(binomialUpperTail(2000, 20, 0.005) == doctest::Approx(0.003370858496896605).epsilon(1e-9));
  CHECK(binomialUpperTail(100, 5, 0.01) == doctest::Approx(0.0034323215877545155).epsilon(1e-9));
  // The normal approximation would put the first at z = 4.6, a tail of 2e-6: past a 0.9999 confidence (and the
  // default 0.99999), which the exact tail is not.
  CHECK(binomialUpperTail(839, 9, 0.0026) > 1e-4);
  CHECK(binomialUpperTail(10, 0, 0.5) == 1);
  CHECK(binomialUpperTail(10, 11, 0.5) == 0);
  CHECK(binomialUpperTail(10, 10, 0.5) == doctest::Approx(1.0 / 1024));
}
