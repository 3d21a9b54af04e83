// Quantiles from cumulative histogram buckets, computed exactly as Prometheus' histogram_quantile() does for
// classic histograms (linear interpolation within the bucket, monotonicity repair, the +Inf and first-bucket
// rules), and reported with the bounds of the bucket the quantile lies in, so that nobody reads precision into a
// value the buckets do not have. Pure functions; any thread.
#pragma once

#include <span>

namespace hotspotd::detectors {

struct Bucket {
  double upper_bound;
  double count;  // cumulative: requests at or under upper_bound
};

struct QuantileEstimate {
  double value;  // NaN when the histogram holds no observations
  double lower;  // the bucket the quantile falls in: (lower, upper]
  double upper;
};

// `buckets` sorted by upper bound, the last one +Inf. q outside [0, 1] gives -Inf/+Inf, as in Prometheus.
QuantileEstimate bucketQuantile(double q, std::span<const Bucket> buckets);

// P(X >= x) for X ~ Binomial(n, p), exactly (the regularized incomplete beta I_p(x, n - x + 1)): how likely x or
// more of n requests land above a bound that a share p of them lands above. Counts are whole numbers held as
// doubles (rounded here).
double binomialUpperTail(double n, double x, double p);

}  // namespace hotspotd::detectors
