#!/usr/bin/env bash
# Notifications across kill -9: the daemon is killed with SIGKILL at random moments, again and again, while
# incidents fire and resolve and the webhook receiver answers slowly (and now and then with 500), then runs one
# last time until its outbox is empty. Every incident occurrence the state database recorded must have reached
# the receiver: its firing (status "firing", startsAt its firing time) and, once resolved, its resolution. Prints
# how many were lost and how many notifications arrived more than once (at-least-once: a send cut off by the kill
# goes again, the same body with the same dedup key).
#   bench/kill_loop.sh [HOTSPOTD_BINARY] [KILLS, default 1000]
set -euo pipefail
hotspotd=${1:-build/gcc/hotspotd}
kills=${2:-1000}
source "$(dirname "$0")/lib.sh"
need python3

# The target: four queues whose depth is 200 and 0 in turn, for 30, 37, 45 and 53 s (wall-clock time, so the
# incidents go on while the daemon is down); the rule fires on the 30 s average above 50.
python_bg "$tmp/target.port" <<'PY'
import sys, time
from metrics_target import serve
def body():
    now = time.time()
    return ("# TYPE queue_depth gauge\n" + "".join(
        'queue_depth{queue="q%d"} %d\n' % (i, 200 if int(now // p) % 2 == 0 else 0)
        for i, p in enumerate((30, 37, 45, 53)))).encode()
serve(body, sys.argv[1])
PY

# The receiver: answers after 0.1 to 1.5 s, one request in ten with 500; logs every body it answered 200 to, with
# when the request arrived and when it was answered (a request whose sender was killed meanwhile is logged too).
python_bg "$tmp/receiver.port" "$tmp/received.jsonl" <<'PY'
import http.server, json, random, sys, time
out = open(sys.argv[2], "a")
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        arrived = time.time()
        time.sleep(random.uniform(0.1, 1.5))
        if random.random() < 0.1:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        out.write(json.dumps({"arrived": arrived, "answered": time.time(), "body": json.loads(body)}) + "\n")
        out.flush()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(srv.server_address[1]))
srv.serve_forever()
PY
wait_for_file "$tmp/target.port"
wait_for_file "$tmp/receiver.port"

cat >"$tmp/rules.toml" <<'EOF'
[[rules]]
name = "QueueDeep"
kind = "threshold"
gauge = "queue_depth"
above = 50
window = "30s"
for = "0s"
keep_firing_for = "0s"
severity = "page"
EOF
cat >"$tmp/hotspotd.toml" <<EOF
[server]
listen = "127.0.0.1:0"
[storage]
state_dir = "$tmp/state"
[rules]
files = ["$tmp/rules.toml"]
evaluation_interval = "1s"
[[scrape]]
job = "app"
targets = ["127.0.0.1:$(cat "$tmp/target.port")"]
interval = "1s"
timeout = "1s"
[[receivers]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:$(cat "$tmp/receiver.port")/hook"
[route]
receiver = "hook"
group_by = ["alertname", "queue"]
group_wait = "1s"
group_interval = "1s"
repeat_interval = "24h"
EOF

start=$(date +%s)
for i in $(seq "$kills"); do
  "$hotspotd" run --config "$tmp/hotspotd.toml" >>"$tmp/daemon.log" 2>&1 &
  pid=$!
  sleep "$(python3 -c 'import random; print(round(random.uniform(0.3, 2.5), 2))')"
  date +%s.%N >>"$tmp/kills.txt"
  kill -9 "$pid" 2>/dev/null || { echo "the daemon ended by itself:"; tail -n 20 "$tmp/daemon.log"; exit 1; }
  wait "$pid" 2>/dev/null || true
  if [ $((i % 100)) -eq 0 ]; then
    echo "$i kills, $(($(date +%s) - start)) s, $(wc -l <"$tmp/received.jsonl" 2>/dev/null || echo 0) notifications received"
  fi
done

# One last run, until nothing is pending in the outbox.
"$hotspotd" run --config "$tmp/hotspotd.toml" >>"$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 120); do
  sleep 1
  pending=$(python3 -c "
import sqlite3, sys
db = sqlite3.connect('file:$tmp/state/hotspotd.db?mode=ro', uri=True)
print(db.execute(\"SELECT COUNT(*) FROM notifications WHERE state = 'pending'\").fetchone()[0])" 2>/dev/null || echo 1)
  [ "$pending" = 0 ] && break
done
sleep 3
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true

python3 - "$tmp/state/hotspotd.db" "$tmp/received.jsonl" "$kills" "$tmp/kills.txt" <<'PY'
import collections, datetime, json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
def ms(rfc3339):
    return round(datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)
kills = [float(t) for t in open(sys.argv[4])]
def cut_off(r):
    # The daemon was killed while this request was out, or within half a second of its answer (before it could
    # record it on a busy machine): it never recorded the answer.
    return any(r["arrived"] <= k <= r["answered"] + 0.5 for k in kills)
received = collections.Counter()
copies = collections.defaultdict(list)  # by message body: was each copy cut off by a kill?
messages = 0
for line in open(sys.argv[2]):
    messages += 1
    r = json.loads(line)
    copies[json.dumps(r["body"], sort_keys=True)].append(cut_off(r))
    for a in r["body"]["alerts"]:
        received[(a["fingerprint"], ms(a["startsAt"]), a["status"])] += 1
expected = []
open_now = 0
for id_, state, firing_ms, resolved_ms in db.execute(
        "SELECT id, state, firing_ms, resolved_ms FROM incidents WHERE firing_ms IS NOT NULL"):
    expected.append((id_, firing_ms, "firing"))
    if state == "resolved":
        expected.append((id_, firing_ms, "resolved"))
    else:
        open_now += 1
lost = [e for e in expected if received[e] == 0]
# A notification received twice (the same body: the same outbox entry sent again) is explained when an earlier copy
# was cut off by a kill. (An alert also reappears in a later notification of its group, as Alertmanager's do: a
# resolved one until its group is notified again; that is not a duplicate delivery.)
dups = sum(len(c) - 1 for c in copies.values())
unexplained = sum(max(0, (len(c) - 1) - sum(c[:-1])) for c in copies.values())
unexpected = [k for k in received if k not in set(expected)]
rows = dict(db.execute("SELECT state, COUNT(*) FROM notifications GROUP BY state").fetchall())
# Notifications the daemon wrote twice with the same content (not a resend of one entry): a second decision to send.
payloads = collections.Counter(json.dumps(json.loads(p), sort_keys=True)
                               for (p,) in db.execute("SELECT payload FROM notifications"))
rewritten = sum(n - 1 for n in payloads.values() if n > 1)
print(f"kills: {sys.argv[3]}; incident occurrences fired: {sum(1 for e in expected if e[2] == 'firing')} "
      f"(open at the end: {open_now})")
print(f"announcements expected: {len(expected)}, received: {len(expected) - len(lost)}, lost: {len(lost)}"
      f" (firing {sum(1 for e in lost if e[2] == 'firing')}, resolved {sum(1 for e in lost if e[2] == 'resolved')})")
print(f"messages received: {messages}; received more than once: {dups} (not after a send cut off by a kill: "
      f"{unexplained}); announcements not in the state database: {len(unexpected)}")
print(f"outbox at the end: {rows}; entries with the same content as an earlier one: {rewritten}")
for e in lost[:10]:
    print("  lost:", e)
# A lost announcement, or a notification decided twice, is a bug; a resend of one entry is at-least-once.
sys.exit(1 if lost or rewritten else 0)
PY
