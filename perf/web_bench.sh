#!/usr/bin/env bash
# The web workloads side by side, each server on one core (CPU 0), its client on the other (CPU 1):
#   H1  hello-world HTTP, keep-alive, 64 and 256 connections: Snow's hello server
#       (tools/examples/http_hello.cc) and nginx (one worker, access_log off, keepalive_requests
#       100000000, `return 200 "hello"`), each driven by wrk (1 thread) and by snow-load --mode=http.
#   H2  WebSocket echo, 64 connections, 32 B: Node.js `ws` server with the Node client, Snow's
#       server (tools/examples/ws_echo.cc) with the same Node client, and Snow's server with
#       snow-load --mode=ws.
#   H3  WebSocket broadcast, 1 publisher -> 256 subscribers, 64 B, 16 in flight: the Node `ws`
#       server with the Node client, and Snow's server (/room/:name) with snow-load --mode=ws-broadcast.
#
#   perf/web_bench.sh [seconds per run, default 10] [rounds, default 3] [workloads, default H1-H4]
#
# Prints one line per run, e.g.
#   H1 snow client=wrk conns=64 rps=... p50=... p99=... server_cpu_us_per_req=...
# and the medians at the end. Server CPU is the server process's user+system time over the run
# (/proc/PID/stat) divided by the requests or messages the client completed. Needs nginx-light
# and wrk (Debian packages: tools/snow web-bench installs them), Node.js with test/interop's
# node_modules (the set-up's npm ci), and a Release build of the examples and snow-load.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-10}
rounds=${2:-3}
shift $(($# < 2 ? $# : 2))
workloads=("$@")
[ ${#workloads[@]} -eq 0 ] && workloads=(H1 H2 H3 H4)
# Snow's servers as deployed by default, unless SNOW_SERVER_FLAGS says otherwise (e.g.
# "--snow-spin-us=0": an idle shard sleeps at once instead of polling for 50 us, which a
# client-limited run otherwise charges to the server's CPU).
server_flags=${SNOW_SERVER_FLAGS:-}
tools_dir="$root/build/release/tools"
hello="$tools_dir/example_http_hello"
ws_echo="$tools_dir/example_ws_echo"
load="$tools_dir/snow-load"
export NODE_PATH="$root/test/interop/node_modules"
peer="$root/perf/node/ws_peer.js"
for tool in wrk nginx node; do
  command -v "$tool" >/dev/null || { echo "web_bench: $tool is missing (tools/snow web-bench installs it)" >&2; exit 2; }
done
[ -d "$NODE_PATH/ws" ] || { echo "web_bench: $NODE_PATH/ws is missing (run tools/snow setup)" >&2; exit 2; }
for binary in "$hello" "$ws_echo" "$load"; do
  [ -x "$binary" ] || { echo "web_bench: build $(basename "$binary") first (tools/snow web-bench)" >&2; exit 2; }
done

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

cpu_split() { awk '{print $14, $15}' "/proc/$1/stat"; }  # user and system ticks
ticks_per_second=$(getconf CLK_TCK)

wants() { [[ " ${workloads[*]} " == *" $1 "* ]]; }
results="$work/results"

# measure LINE_PREFIX PID COUNT_REGEX CLIENT...: runs the client on CPU 1 while the server PID
# serves; prints LINE_PREFIX with the client's figures and the server's CPU per unit of work.
measure() {
  local prefix=$1 pid=$2 count_regex=$3 before after out count cpu
  shift 3
  local user_before sys_before user_after sys_after
  read -r user_before sys_before < <(cpu_split "$pid")
  out=$(taskset -c 1 "$@")
  read -r user_after sys_after < <(cpu_split "$pid")
  count=$(grep -oE "$count_regex" <<<"$out" | head -1 | grep -oE '[0-9]+' | head -1)
  cpu=$(awk -v u=$((user_after - user_before)) -v k=$((sys_after - sys_before)) \
    -v hz="$ticks_per_second" -v n="$count" \
    'BEGIN {printf "%.2f (user %.2f, system %.2f)", (u + k) / hz * 1e6 / n, u / hz * 1e6 / n, k / hz * 1e6 / n}')
  local figures
  figures=$(figures_of "$out")
  echo "$prefix $figures server_cpu_us_per_unit=$cpu" | tee -a "$results"
}

# The client's own figures, as key=value.
figures_of() {
  local out=$1
  if grep -q "Requests/sec" <<<"$out"; then  # wrk
    awk '/Requests\/sec/ {rate = $2} $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2}
         END {printf "rate=%d p50=%s p99=%s", rate, p50, p99}' <<<"$out"
  elif grep -q '"msgs_per_s"' <<<"$out"; then  # snow-load --json
    sed -E 's/.*"msgs_per_s":([0-9.]+).*"p50":([0-9.]+).*"p99":([0-9.]+),.*"errors":([0-9]+).*/rate=\1 p50=\2us p99=\3us errors=\4/' <<<"$out"
  else  # ws_peer.js
    sed -E 's/^(msgs|deliveries)_per_s=([0-9]+).*/rate=\2/' <<<"$out"
  fi
}

wait_for() {  # wait_for FILE: until the server wrote its first line (5 s at most)
  for _ in $(seq 50); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "web_bench: $1 stayed empty" >&2
  exit 1
}

snow_load=("$load" --json --quiet --snow-shards=1)

if wants H1; then
  taskset -c 0 "$hello" --listen=127.0.0.1:18080 --snow-shards=1 $server_flags >"$work/snow.out" &
  snow=$!
  taskset -c 0 nginx -c "$work/nginx.conf" &
  nginx_master=$!
  wait_for "$work/snow.out"
  wait_for "$work/nginx.pid"
  nginx_worker=$(pgrep -P "$nginx_master" | head -1)
  for round in $(seq "$rounds"); do
    for conns in 64 256; do
      for server in snow:$snow:18080 nginx:$nginx_worker:18081; do
        IFS=: read -r name pid port <<<"$server"
        measure "H1 $name client=wrk conns=$conns" "$pid" "[0-9]+ requests in" \
          wrk -t1 -c"$conns" -d"${seconds}s" --latency "http://127.0.0.1:$port/"
        measure "H1 $name client=snow-load conns=$conns" "$pid" '"messages":[0-9]+' \
          "${snow_load[@]}" --mode=http --address=127.0.0.1:"$port" --connections="$conns" \
          --duration="${seconds}s"
      done
    done
  done
  kill "$snow" "$nginx_master"
  wait "$snow" "$nginx_master" 2>/dev/null || true
fi

if wants H2 || wants H3; then
  taskset -c 0 "$ws_echo" --listen=127.0.0.1:18082 --snow-shards=1 $server_flags >"$work/ws_echo.out" &
  snow_ws=$!
  taskset -c 0 node "$peer" server 18083 >"$work/node.out" &
  node_ws=$!
  wait_for "$work/ws_echo.out"
  wait_for "$work/node.out"
  for round in $(seq "$rounds"); do
    if wants H2; then
      measure "H2 node_ws client=node conns=64" "$node_ws" "messages=[0-9]+" \
        node "$peer" echo ws://127.0.0.1:18083/echo 64 "$seconds" 32
      measure "H2 snow client=node conns=64" "$snow_ws" "messages=[0-9]+" \
        node "$peer" echo ws://127.0.0.1:18082/echo 64 "$seconds" 32
      measure "H2 snow client=snow-load conns=64" "$snow_ws" '"messages":[0-9]+' \
        "${snow_load[@]}" --mode=ws --address=127.0.0.1:18082 --connections=64 --size=32 \
        --duration="${seconds}s"
    fi
    if wants H3; then
      measure "H3 node_ws client=node subscribers=256" "$node_ws" "deliveries=[0-9]+" \
        node "$peer" broadcast "ws://127.0.0.1:18083/room/r$round" 256 "$seconds" 64 16
      measure "H3 snow client=snow-load subscribers=256" "$snow_ws" '"messages":[0-9]+' \
        "${snow_load[@]}" --mode=ws-broadcast --address=127.0.0.1:18082 --path="/room/r$round" \
        --connections=257 --size=64 --depth=16 --duration="${seconds}s"
    fi
  done
fi

if wants H4; then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  limit=$(ulimit -n)
  connections=100000
  if [ "$limit" != unlimited ] && [ "$limit" -lt $((connections + 1000)) ]; then
    connections=$(((limit - 1000) / 1000 * 1000))
    echo "H4: the open-file limit is $limit (ulimit -Hn), so $connections connections, not 100000"
  fi
  # h4_round KIND [--tls]: one round over plain connections or TLS ones.
  h4_round() {
    local kind=$1 tls=${2:-}
    taskset -c 0 "$ws_echo" --listen=127.0.0.1:18084 --snow-shards=1 $server_flags $tls \
      >"$work/h4.out" &
    h4=$!
    wait_for "$work/h4.out"
    rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$h4/status")
    # One broadcast a second while idle (the peak is the held connections), then the rate
    # with broadcasts 4 in flight.
    taskset -c 1 "$load" --mode=ws-broadcast $tls --address=127.0.0.1:18084 --path=/room/all \
      --connections=$((connections + 1)) --rate=1 --duration="${seconds}s" --source-spread=8 \
      --timeout=120s --json --quiet --snow-shards=1 >"$work/h4.idle" &
    idle=$!
    rss_max=0
    while kill -0 "$idle" 2>/dev/null; do
      rss=$(awk '/VmRSS/ {print $2}' "/proc/$h4/status")
      [ "$rss" -gt "$rss_max" ] && rss_max=$rss
      sleep 0.2
    done
    wait "$idle" || { echo "web_bench: the H4 idle run failed: $(cat "$work/h4.idle")" >&2; exit 1; }
    per_conn=$(((rss_max - rss_before) * 1024 / connections))
    echo "H4 snow $kind connections=$connections rss_bytes_per_conn=$per_conn" | tee -a "$results"
    measure "H4 snow $kind broadcast connections=$connections" "$h4" '"messages":[0-9]+' \
      "$load" --mode=ws-broadcast $tls --address=127.0.0.1:18084 --path=/room/busy \
      --connections=$((connections + 1)) --depth=4 --duration="${seconds}s" --source-spread=8 \
      --timeout=120s --json --quiet --snow-shards=1
    kill "$h4"
    wait "$h4" 2>/dev/null || true
  }
  for round in $(seq "$rounds"); do
    h4_round plain
    h4_round tls --tls
  done
fi

# median FIELD: the median of FIELD=value over the lines on stdin.
median() {
  sed -n "s/.* $1=\([0-9.]*\).*/\1/p" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
echo "medians of $rounds rounds of ${seconds}s:"
grep -v rss_bytes_per_conn "$results" | cut -d' ' -f1-4 | sort -u | while read -r key; do
  lines=$(grep "^$key " "$results")
  echo "$key median rate=$(median rate <<<"$lines") server_cpu_us_per_unit=$(median server_cpu_us_per_unit <<<"$lines")"
done
for kind in plain tls; do
  lines=$(grep "rss_bytes_per_conn" "$results" | grep " $kind " || true)
  [ -n "$lines" ] || continue
  echo "$(head -1 <<<"$lines" | cut -d' ' -f1-4) median rss_bytes_per_conn=$(median rss_bytes_per_conn <<<"$lines")"
done
