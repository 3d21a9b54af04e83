// DESIGN
// Grouping and timing, as Alertmanager does them: each alert (an incident's firing or resolution) goes to the
// groups of the routes that take it. A new group waits `group_wait` before its first notification, so alerts that
// fire together go together; after that a group is notified at most every `group_interval`, and only when
// something changed (an alert joined, fired again or resolved); a group whose alerts still fire and that has had
// nothing new is notified again every `repeat_interval`. Resolved alerts go out once (when the receiver wants
// resolutions) and leave the group; an empty group is forgotten.
//
// A firing alert whose profile is being captured holds its groups' first notification of it until the profile is
// stored or the capture's deadline passes (hold/release), whatever group_wait says: the page carries the flame graph.
//
// At flush time, silenced and inhibited alerts are left out; a group with nothing left to say sends nothing. A
// firing alert that was muted and never sent stays "changed", so it goes out at the group's next flush after its
// silence ends.
//
// The notifier only decides what to send and when: the caller writes the messages to the outbox, and with them the
// groups that changed (takeDirty), so that after a restart the same groups come back (restore) with what each has
// sent: an alert already notified is not notified again before repeat_interval, and an alert observed but not yet
// flushed is not forgotten. Owned by one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alerting/payloads.h"
#include "alerting/routing.h"

namespace hotspotd::alerting {

struct Flush {
  const Route* route = nullptr;
  NotificationGroup group;  // receiver, group key and labels, the alerts to send
};

class Notifier {
 public:
  // `send_resolved`: receivers that want resolutions (the others get firing alerts only).
  Notifier(Route root, std::vector<InhibitRule> inhibit, std::set<std::string> send_resolved);

  // An alert's new state at now_ms.
  void observe(const AlertInfo& alert, std::int64_t now_ms);
  // Something attached to a firing alert changed (a profile was captured): the groups of `receivers` that told it
  // firing tell it again at once. Others wait for their repeat_interval.
  void refresh(const std::string& alert_id, const std::set<std::string>& receivers, std::int64_t now_ms);
  // A firing alert's profile is being captured: its groups hold their first notification of it until release()
  // or until `until_ms`, whatever group_wait says, so that the page carries the flame graph.
  void hold(const std::string& alert_id, std::int64_t until_ms);
  void release(const std::string& alert_id);
  // The groups to notify at now_ms, with what each says.
  std::vector<Flush> due(std::int64_t now_ms, const std::vector<Silence>& silences);
  // When due() next has something to do (0: nothing scheduled).
  std::int64_t nextWakeMs() const;
  std::size_t groupCount() const { return groups_.size(); }

  // The groups that changed since the last call, as (key, state JSON); an empty state: the group is gone.
  std::vector<std::pair<std::string, std::string>> takeDirty();
  // Every group's state (to hand over to a notifier with other routes on reload).
  std::vector<std::pair<std::string, std::string>> saveAll() const;
  // Puts back saved groups. Each alert is routed again: where its group key still exists, it keeps what was sent
  // and when; otherwise (the routes changed) it joins its new groups as a new alert.
  void restore(const std::vector<std::pair<std::string, std::string>>& saved, std::int64_t now_ms);
  // The alerts held, by incident id, and whether each is firing.
  std::map<std::string, bool> alerts() const;

 private:
  struct Member {
    AlertInfo alert;
    bool changed = true;       // since the last notification
    bool sent_firing = false;  // a notification carried it firing
    std::int64_t hold_until_ms = 0;  // its first notification waits for its profile until then (0: no hold)
  };
  struct Group {
    const Route* route = nullptr;
    std::vector<std::pair<std::string, std::string>> labels;
    std::map<std::string, Member> members;  // by incident id
    std::int64_t next_ms = 0;               // when it may be notified next
    std::int64_t last_ms = 0;               // last notification (0: none yet)
  };

  std::string saveGroup(const Group& g) const;

  Route root_;
  std::vector<InhibitRule> inhibit_;
  std::set<std::string> send_resolved_;
  std::map<std::string, Group> groups_;  // by group key
  std::set<std::string> dirty_;
};

// AlertInfo as JSON, for the saved grouping state (what the notifier needs to notify it again: no links).
std::string alertToJson(const AlertInfo& a);
std::optional<AlertInfo> alertFromJson(const std::string& text);

}  // namespace hotspotd::alerting
