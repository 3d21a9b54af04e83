#!/usr/bin/env bash
# The whole loop, measured on this machine, in two parts:
#
# 1. `hotspotd demo` (the demo service under its load, the daemon on the demo's config, a webhook receiver): from
#    the moment the regression is switched on to the notification delivered, and its parts (detection: regression on
#    to pending, pending to firing, which is the rule's `for`; capture: firing to the profile stored; delivery:
#    firing to the webhook's answer, which includes the route's group_wait); the daemon's CPU time and memory over
#    the run.
# 2. What profiling costs the profiled service: the demo service driven as hard as it goes (closed loop, the
#    regression on so its requests burn CPU), its throughput over the same window with and without the capture the
#    daemon runs (perf record -e cpu-clock -F <hz> -g -p <pid>) at the default frequency (99 Hz) and the demo's (199).
#
#   bench/demo_loop.sh [BUILD_DIR]        (default build/gcc; run as root, or where perf may profile)
set -euo pipefail
build=${1:-build/gcc}
for tool in perf python3 curl; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (scripts/bootstrap installs it)"; exit 1; }
done
[ -x "$build/hotspotd" ] && [ -x "$build/hotspotd_demo_service" ] || {
  echo "build first: cmake --build $build"
  exit 1
}
work=$(mktemp -d)
demo_pid=
shop_pid=
cleanup() {
  [ -n "$demo_pid" ] && kill -INT "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
  [ -n "$shop_pid" ] && kill "$shop_pid" 2>/dev/null && wait "$shop_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "== 1. hotspotd demo: regression switched on -> notification delivered"
"$build/hotspotd" demo --dir "$work/demo" --listen 127.0.0.1:0 --regression-after 62s >"$work/demo.out" 2>&1 &
demo_pid=$!
for _ in $(seq 1 480); do
  grep -q "Webhook received: firing" "$work/demo.out" && break
  kill -0 "$demo_pid" 2>/dev/null || { cat "$work/demo.out"; exit 1; }
  sleep 0.5
done
grep -q "Webhook received: firing" "$work/demo.out" || { cat "$work/demo.out"; echo "no alert in 4 minutes"; exit 1; }
ui=$(grep -o 'its UI: http://[0-9.:]*' "$work/demo.out" | head -1 | cut -d' ' -f3)
daemon_pid=$(grep -o 'hotspotd (pid [0-9]*' "$work/demo.out" | grep -o '[0-9]*$')
on_ms=$(grep -o 'Regression on at unix ms [0-9]*' "$work/demo/shop.log" | grep -o '[0-9]*$')
curl -sf "$ui/api/v1/incidents?state=firing" >"$work/incidents.json"
curl -sf "$ui/api/v1/profiles?target=shop" >"$work/profiles.json"
curl -sf "$ui/api/v1/notifications" >"$work/notifications.json"
curl -sf "$ui/metrics" >"$work/metrics.txt"
ticks=$(getconf CLK_TCK)
read -r utime stime starttime < <(awk '{print $14, $15, $22}' "/proc/$daemon_pid/stat")
uptime_s=$(awk '{print $1}' /proc/uptime)
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status")
hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$daemon_pid/status")
python3 - "$work" "$on_ms" "$utime" "$stime" "$starttime" "$ticks" "$uptime_s" "$rss_kb" "$hwm_kb" <<'EOF'
import json, sys, datetime
work, on_ms = sys.argv[1], int(sys.argv[2])
utime, stime, start, ticks, uptime, rss, hwm = (float(x) for x in sys.argv[3:])
def ms(t):
    return datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000
inc = [i for i in json.load(open(f"{work}/incidents.json"))["data"]["incidents"] if i["labels"].get("route") == "/checkout"][0]
pending, firing = ms(inc["activeAt"]), ms(inc["firedAt"])
prof = [p for p in json.load(open(f"{work}/profiles.json"))["data"]["profiles"] if p.get("incident") == inc["id"]][-1]
captured = ms(prof["startedAt"]) + prof["durationSeconds"] * 1000
sent = [n for n in json.load(open(f"{work}/notifications.json"))["data"]
        if n["receiver"] == "demo-webhook" and n["deliveredAt"]]
delivered = min(ms(n["deliveredAt"]) for n in sent)
print(f"regression on -> drift pending      {(pending - on_ms) / 1000:6.1f} s   (the 30s window sees the slow requests)")
print(f"pending -> firing                   {(firing - pending) / 1000:6.1f} s   (the rule's for = 10s)")
print(f"firing -> profile captured          {(captured - firing) / 1000:6.1f} s   (a 5 s perf capture, then stored)")
print(f"firing -> webhook delivered         {(delivered - firing) / 1000:6.1f} s   (group_wait = 10s)")
print(f"regression on -> notification       {(delivered - on_ms) / 1000:6.1f} s")
lived = uptime - start / ticks
print(f"daemon CPU over its {lived:.0f} s: {(utime + stime) / ticks:.2f} s ({100 * (utime + stime) / ticks / lived:.2f}% of one core, "
      f"perf and folding included); RSS {rss / 1024:.1f} MiB (peak {hwm / 1024:.1f} MiB)")
EOF
kill -INT "$demo_pid"
wait "$demo_pid" || true
demo_pid=

echo "== 2. profiling overhead on the demo service (closed-loop load, regression on)"
"$build/hotspotd_demo_service" --listen 127.0.0.1:0 --load 1000000 --regression >"$work/shop.out" 2>&1 &
shop_pid=$!
for _ in $(seq 1 50); do grep -q "Listening on" "$work/shop.out" && break; sleep 0.1; done
shop=$(grep -o 'Listening on [0-9.:]*' "$work/shop.out" | cut -d' ' -f3)
requests() { curl -sf "http://$shop/metrics" | awk '/^http_requests_total\{/ {s += $NF} END {printf "%d\n", s}'; }
window=10
throughput() {  # requests/s over the window, with the given command running alongside (or nothing)
  local before after
  before=$(requests)
  if [ $# -gt 0 ]; then "$@" >/dev/null 2>&1; else sleep "$window"; fi
  after=$(requests)
  echo $(((after - before) / window))
}
sleep 3  # warm up
base=$(throughput)
f99=$(throughput perf record -e cpu-clock -F 99 -g -p "$shop_pid" -o "$work/p99.data" -q -- sleep "$window")
f199=$(throughput perf record -e cpu-clock -F 199 -g -p "$shop_pid" -o "$work/p199.data" -q -- sleep "$window")
again=$(throughput)
python3 - "$base" "$f99" "$f199" "$again" <<'EOF'
import sys
base, f99, f199, again = (float(x) for x in sys.argv[1:])
ref = (base + again) / 2
print(f"without perf: {base:.0f} and {again:.0f} requests/s (before and after)")
print(f"perf at  99 Hz: {f99:.0f} requests/s ({100 * (ref - f99) / ref:+.1f}% slower)")
print(f"perf at 199 Hz: {f199:.0f} requests/s ({100 * (ref - f199) / ref:+.1f}% slower)")
EOF
