# Shared by the soak and kill benchmarks (sourced): a scratch directory removed at exit with every process the
# script started (BENCH_KEEP=1 keeps the directory), a metrics target, and a daemon started on a free port.
#   source "$(dirname "$0")/lib.sh"

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -n "${BENCH_KEEP:-}" ]; then echo "kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is needed (scripts/bootstrap installs it)"; exit 1; }
  done
}

# Waits up to a minute for a file a child writes (its port).
wait_for_file() {
  for _ in $(seq 600); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "$1 did not appear"
  exit 1
}

# Runs a Python program (on standard input, with metrics_target.py importable) in the background.
python_bg() {
  PYTHONPATH="$bench_dir" python3 - "$@" <&0 &  # <&0: a background job would read /dev/null
  pids+=($!)
}

# Starts `hotspotd run` with CONFIG, its log in LOG; sets daemon (its pid) and port (where it listens).
start_hotspotd() {
  local binary=$1 config=$2 log=$3
  "$binary" run --config "$config" >"$log" 2>&1 &
  daemon=$!
  pids+=($daemon)
  port=
  for _ in $(seq 100); do
    port=$(grep Listening "$log" | grep -o '127.0.0.1:[0-9]*' | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  echo "the daemon did not start:"
  cat "$log"
  exit 1
}

metric() { curl -fsS "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$daemon/status"; }
