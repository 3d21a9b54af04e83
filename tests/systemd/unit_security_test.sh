#!/usr/bin/env bash
# Checks the shipped unit's hardening: `systemd-analyze security --offline=true` must rate its exposure at or
# under the limit given (node_exporter's example unit rates 4.6), and the unit must keep what perf needs.
set -euo pipefail
unit=$1
limit=$2

if ! command -v systemd-analyze >/dev/null; then
  # Never a silent pass: a failure in CI, a skip (CTest's code 77) elsewhere.
  echo "SKIPPED: systemd-analyze not installed (Debian package systemd; scripts/bootstrap installs it)"
  [ "${CI:-}" = "true" ] && exit 1
  exit 77
fi

out=$(systemd-analyze security --offline=true "$unit" 2>&1) || true
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
  echo "FAIL: systemd-analyze printed no exposure level:"
  printf '%s\n' "$out"
  exit 1
fi
echo "exposure level: $score (limit $limit)"
if ! awk -v s="$score" -v l="$limit" 'BEGIN { exit !(s <= l) }'; then
  echo "FAIL: exposure $score is above $limit; what still counts against it:"
  printf '%s\n' "$out" | grep '✗'
  exit 1
fi

# The profiler's needs must survive any tightening.
fail=0
need() {
  if ! grep -Eq "$1" "$unit"; then
    echo "FAIL: $unit lacks $2"
    fail=1
  fi
}
need '^Type=notify' 'Type=notify'
need '^LimitNOFILE=[0-9]+' 'a LimitNOFILE= above max_connections'
need '^MemoryMax=' 'a MemoryMax= bound'
need '^MemoryHigh=' 'a MemoryHigh= bound'
need '^WatchdogSec=' 'WatchdogSec='
need '^ExecReload=.*-HUP' 'ExecReload sending SIGHUP'
need '^AmbientCapabilities=.*CAP_PERFMON' 'ambient CAP_PERFMON'
need '^AmbientCapabilities=.*CAP_SYS_PTRACE' 'ambient CAP_SYS_PTRACE'
need '^AmbientCapabilities=.*CAP_SYSLOG' 'ambient CAP_SYSLOG'
need '^SystemCallFilter=.*perf_event_open' 'perf_event_open in the system call filter'
need '^StateDirectory=' 'StateDirectory='
need '^ConfigurationDirectory=' 'ConfigurationDirectory='
if grep -Eq '^ProtectProc=invisible|^PrivateUsers=(yes|true|1)' "$unit"; then
  echo "FAIL: $unit hides other processes from perf (ProtectProc=invisible or PrivateUsers=)"
  fail=1
fi
if [ $fail -ne 0 ]; then exit 1; fi
echo "PASS"
