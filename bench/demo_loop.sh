#!/usr/bin/env bash
# The whole loop, measured on this machine, in two parts:
#
# 1. `hotspotd demo` (the demo service under its load, the daemon on the demo's config, a webhook receiver): from
#    the moment the regression is switched on to the notification delivered, and its parts (detection: regression on
#    to pending, pending to firing, which is the rule's `for`; capture: firing to the profile stored; delivery:
#    firing to the webhook's answer, which includes the route's group_wait); the daemon's CPU time and memory over
#    the run.
# 2. What profiling costs the profiled service: the demo service driven as hard as it goes (closed loop from its
#    load process, the regression on so its requests burn CPU), its throughput over the same window with and
#    without the on-CPU capture the daemon runs at 99 Hz (perf record -e cpu-clock -F 99 --call-graph dwarf,8192,
#    the default call_graph), with frame pointers instead (-g, call_graph = "fp"), and with a wall-clock capture
#    (cpu-clock at 99 Hz beside every context switch, DWARF call chains, as kinds = "both" records). The DWARF
#    captures' data files and perf script times are printed too, and the wall-clock one's switches a second (the
#    daemon caps a capture at max_switches; this one is not capped: the worst case).
#
#   bench/demo_loop.sh [BUILD_DIR]        (default build/gcc; run as root, or where perf may profile)
#   COST_ONLY=1 bench/demo_loop.sh ...    part 2 only
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

if [ -z "${COST_ONLY:-}" ]; then
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
read -r utime stime cutime cstime starttime < <(awk '{print $14, $15, $16, $17, $22}' "/proc/$daemon_pid/stat")
uptime_s=$(awk '{print $1}' /proc/uptime)
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status")
hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$daemon_pid/status")
python3 - "$work" "$on_ms" "$utime" "$stime" "$cutime" "$cstime" "$starttime" "$ticks" "$uptime_s" "$rss_kb" \
  "$hwm_kb" <<'EOF'
import json, re, sys, datetime
work, on_ms = sys.argv[1], int(sys.argv[2])
utime, stime, cutime, cstime, start, ticks, uptime, rss, hwm = (float(x) for x in sys.argv[3:])
def ms(t):
    return datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000
inc = [i for i in json.load(open(f"{work}/incidents.json"))["data"]["incidents"] if i["labels"].get("route") == "/checkout"][0]
pending, firing = ms(inc["activeAt"]), ms(inc["firedAt"])
# The profile is stored when the daemon logs it.
captured = None
for line in open(f"{work}/demo/hotspotd.log"):
    if "Profile captured" in line and f"incident={inc['id']}" in line:
        captured = ms(line.split()[0])
        break
sent = [n for n in json.load(open(f"{work}/notifications.json"))["data"]
        if n["receiver"] == "demo-webhook" and n["deliveredAt"]]
delivered = min(ms(n["deliveredAt"]) for n in sent)
print(f"regression on -> drift pending      {(pending - on_ms) / 1000:6.1f} s   (the 30s window sees the slow requests)")
print(f"pending -> firing                   {(firing - pending) / 1000:6.1f} s   (the rule's for = 10s)")
print(f"firing -> profile stored            {(captured - firing) / 1000:6.1f} s   (a 5 s perf capture, folded, rendered)")
print(f"firing -> webhook delivered         {(delivered - firing) / 1000:6.1f} s   (group_wait = 10s)")
print(f"regression on -> notification       {(delivered - on_ms) / 1000:6.1f} s")
lived = uptime - start / ticks
own, perf = (utime + stime) / ticks, (cutime + cstime) / ticks
print(f"daemon CPU over its {lived:.0f} s: {own:.2f} s itself ({100 * own / lived:.2f}% of one core), {perf:.2f} s in perf "
      f"(two captures); RSS {rss / 1024:.1f} MiB (peak {hwm / 1024:.1f} MiB)")
EOF
kill -INT "$demo_pid"
wait "$demo_pid" || true
demo_pid=

fi

echo "== 2. profiling overhead on the demo service (closed-loop load, regression on)"
"$build/hotspotd_demo_service" --listen 127.0.0.1:0 --load 1000000 --regression >"$work/shop.out" 2>&1 &
shop_pid=$!
for _ in $(seq 1 50); do grep -q "Listening on" "$work/shop.out" && break; sleep 0.1; done
shop=$(grep -o 'Listening on [0-9.:]*' "$work/shop.out" | cut -d' ' -f3)
requests() { curl -sf "http://$shop/metrics" | awk '/^http_requests_total\{/ {s += $NF} END {printf "%d\n", s}'; }
window=10
throughput() {  # requests/s over exactly the window
  local before after
  before=$(requests)
  sleep "$window"
  after=$(requests)
  echo $(((after - before) / window))
}
with_perf() {  # the same, while perf records ($1: fp, dwarf or wall; attached a second before the window, gone after)
  local pid rate
  case "$1" in
    wall) set -- -F 99 -e cpu-clock -e context-switches/period=1/ --switch-events --call-graph dwarf,8192 -o "$work/perf-$1.data" ;;
    dwarf) set -- -e cpu-clock -F 99 --call-graph dwarf,8192 -o "$work/perf-$1.data" ;;
    *) set -- -e cpu-clock -F 99 -g -o "$work/perf-$1.data" ;;
  esac
  perf record "$@" -p "$shop_pid" -q -- sleep $((window + 2)) >/dev/null 2>&1 &
  pid=$!
  sleep 1
  rate=$(throughput)
  wait "$pid" || true
  echo "$rate"
}
sleep 3  # warm up
# Interleaved rounds, so that drift in the machine's speed falls on all four alike; medians reported.
none=() fp=() dwarf=() wall=()
for round in 1 2 3; do
  none+=("$(throughput)")
  fp+=("$(with_perf fp)")
  dwarf+=("$(with_perf dwarf)")
  wall+=("$(with_perf wall)")
  echo "round $round: ${none[-1]} requests/s without perf, ${fp[-1]} with an on-CPU capture (frame pointers)," \
    "${dwarf[-1]} (DWARF), ${wall[-1]} with a wall-clock capture"
done
# The last DWARF captures' sizes and what unwinding them costs (perf script is where DWARF call chains are paid).
TIMEFORMAT="%R %U %S"
script_time() { { time perf script -i "$1" --show-switch-events >"$2" 2>/dev/null; } 2>&1; }
dwarf_time=$(script_time "$work/perf-dwarf.data" /dev/null)
wall_time=$(script_time "$work/perf-wall.data" "$work/perf.txt")
python3 - "${none[*]}" "${fp[*]}" "${dwarf[*]}" "${wall[*]}" "$(stat -c %s "$work/perf-dwarf.data")" "$dwarf_time" \
  "$(stat -c %s "$work/perf-wall.data")" "$wall_time" "$window" "$(grep -c 'context-switches' "$work/perf.txt")" <<'EOF'
import statistics, sys
none, fp, dwarf, wall = (statistics.median(float(x) for x in arg.split()) for arg in sys.argv[1:5])
dsize, dtime, wsize, wtime = int(sys.argv[5]), sys.argv[6], int(sys.argv[7]), sys.argv[8]
window, switches = int(sys.argv[9]), int(sys.argv[10])
slower = lambda x: f"{100 * (none - x) / none:+.1f}% slower"
print(f"median: {none:.0f} requests/s without perf; on-CPU capture at 99 Hz with frame pointers {fp:.0f} "
      f"({slower(fp)}), with DWARF {dwarf:.0f} ({slower(dwarf)}); wall-clock capture {wall:.0f} ({slower(wall)})")
for name, size, t, extra in (("on-CPU DWARF", dsize, dtime, ""),
                             ("wall-clock", wsize, wtime, f"{switches} switches ({switches / (window + 2):.0f} a second), ")):
    real, user, sys_ = map(float, t.split())
    print(f"{name} capture of {window + 2} s: {extra}{size / 1e6:.1f} MB of data, perf script {real:.2f} s "
          f"({user + sys_:.2f} s of CPU) to unwind it")
EOF
