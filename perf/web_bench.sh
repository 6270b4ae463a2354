#!/usr/bin/env bash
# H1 side by side: Snow's hello server (tools/examples/http_hello.cc) and nginx (one worker,
# access_log off, keepalive_requests 100000000, `return 200 "hello"`), each on one core (CPU 0),
# driven by wrk (1 thread) on the other core, keep-alive, 64 and 256 connections.
#
#   perf/web_bench.sh [seconds per run, default 10] [rounds, default 3]
#
# Prints one line per server, connection count and round:
#   H1 snow conns=64 rps=... p50_us=... p99_us=... server_cpu_us_per_req=...
# and the medians at the end. Server CPU is the server process's user+system time over the run
# (/proc/PID/stat) divided by the requests wrk completed. Needs nginx-light and wrk (Debian
# packages: tools/snow web-bench installs them) and a Release build of example_http_hello.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-10}
rounds=${2:-3}
hello="$root/build/release/tools/example_http_hello"
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "web_bench: $tool is missing (apt-get install wrk nginx-light)" >&2; exit 2; }
done
[ -x "$hello" ] || { echo "web_bench: build example_http_hello first (tools/snow setup)" >&2; exit 2; }

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
worker_cpu_affinity 01;
daemon off;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  server { listen 127.0.0.1:18081 backlog=4096; location / { return 200 "hello"; } }
}
CONF

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# run NAME PID PORT CONNS: one wrk run against the server PID listening on PORT.
run() {
  local name=$1 pid=$2 port=$3 conns=$4 before after out requests rps p50 p99 cpu
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${seconds}s" --latency "http://127.0.0.1:$port/")
  after=$(cpu_ticks "$pid")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  cpu=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" \
    'BEGIN {printf "%.2f", t / hz * 1e6 / n}')
  echo "H1 $name conns=$conns rps=$rps p50=$p50 p99=$p99 server_cpu_us_per_req=$cpu"
}

taskset -c 0 "$hello" --listen=127.0.0.1:18080 --snow-shards=1 >"$work/snow.out" &
snow=$!
taskset -c 0 nginx -c "$work/nginx.conf" &
nginx_master=$!
for _ in $(seq 50); do
  [ -s "$work/snow.out" ] && [ -s "$work/nginx.pid" ] && break
  sleep 0.1
done
nginx_worker=$(pgrep -P "$nginx_master" | head -1)

results="$work/results"
for round in $(seq "$rounds"); do
  for conns in 64 256; do
    run snow "$snow" 18080 "$conns" | tee -a "$results"
    run nginx "$nginx_worker" 18081 "$conns" | tee -a "$results"
  done
done
# median FIELD LINES: the median of FIELD=value over the lines.
median() {
  sed -n "s/.* $1=\([0-9.]*\).*/\1/p" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
echo "medians of $rounds rounds of ${seconds}s:"
for conns in 64 256; do
  for name in snow nginx; do
    lines=$(grep "^H1 $name conns=$conns " "$results")
    echo "H1 $name conns=$conns median rps=$(median rps <<<"$lines")" \
      "server_cpu_us_per_req=$(median server_cpu_us_per_req <<<"$lines")"
  done
done
