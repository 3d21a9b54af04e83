// What a detector says of one endpoint at one evaluation, and what the incident tracker makes of it: plain values
// handed from detectors to incidents to alerting.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hotspotd::rules {

using OwnedLabels = std::vector<std::pair<std::string, std::string>>;  // sorted by name

// Immutable labels shared by reference: a detector hands the same endpoint's labels to a finding at every
// evaluation without copying strings (a copy per endpoint per evaluation was a fifth of drift's cost). Reads like a
// const OwnedLabels.
class SharedLabels {
 public:
  SharedLabels() : p_(none()) {}
  SharedLabels(OwnedLabels labels) : p_(std::make_shared<const OwnedLabels>(std::move(labels))) {}
  SharedLabels(std::initializer_list<std::pair<std::string, std::string>> labels) : SharedLabels(OwnedLabels(labels)) {}
  SharedLabels(std::shared_ptr<const OwnedLabels> labels) : p_(labels ? std::move(labels) : none()) {}

  operator const OwnedLabels&() const { return *p_; }
  const OwnedLabels& get() const { return *p_; }
  OwnedLabels::const_iterator begin() const { return p_->begin(); }
  OwnedLabels::const_iterator end() const { return p_->end(); }
  std::size_t size() const { return p_->size(); }
  bool empty() const { return p_->empty(); }
  friend bool operator==(const SharedLabels& a, const SharedLabels& b) { return *a.p_ == *b.p_; }
  friend bool operator==(const SharedLabels& a, const OwnedLabels& b) { return *a.p_ == b; }

 private:
  static const std::shared_ptr<const OwnedLabels>& none() {
    static const auto no_labels = std::make_shared<const OwnedLabels>();
    return no_labels;
  }
  std::shared_ptr<const OwnedLabels> p_;
};

struct Finding {
  SharedLabels endpoint;
  bool judged = false;  // false: not enough data to say (low traffic, a gap, a new layout): changes nothing
  bool active = false;  // the condition holds
  double value = 0;
  double threshold = 0;
  // How strongly the condition holds, kind-specific (latency_drift: the share of requests above the bound over
  // the baseline share, 1 being no drift); NaN if the kind has none.
  double score = NAN;
  std::vector<std::pair<std::string, double>> evidence;
  std::string reason;    // why not judged, or a one-line account of the judgement
  std::string severity;  // overrides the rule's severity (burn-rate windows carry their own)
};

struct IncidentEvent {
  enum class State { firing, resolved };
  std::int64_t t_ms = 0;
  State state = State::firing;
  std::string id;  // stable: the dedup key for receivers
  std::string alertname;
  OwnedLabels endpoint;     // the endpoint's labels, as the detector grouped them
  OwnedLabels labels;       // the endpoint's labels plus the rule's labels (a rule label wins over an endpoint's)
  OwnedLabels annotations;  // the rule's annotations, rendered for this event
  std::string severity;
  double value = 0;
  double threshold = 0;
  std::vector<std::pair<std::string, double>> evidence;
  std::int64_t started_ms = 0;  // when the condition began (pending)
  std::int64_t fired_ms = 0;    // when it fired (0 while pending)
  std::string reason;           // the detector's one-line account of its judgement
  std::string profile;          // the rule's profile target, if any
};

}  // namespace hotspotd::rules
