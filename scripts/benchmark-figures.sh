# shellcheck shell=bash
# shellcheck disable=SC2154  # root, out, ws_port, http_port, gw_pid, run, start_gateway, stop_gateway: scripts/benchmarks'
# `scripts/benchmarks figures` (sourced by scripts/benchmarks): the per-node figures the capacity planner reads
# (scripts/capacity-plan, docs/scale.md), measured on this machine into target/benchmarks/figures.json:
#   idle, broadcast, targeted   the scenarios of the same names (memory and pings per connection, CPU per delivery)
#   targeted-kafka              targeted delivery from Kafka with the Redis registry and the history (CPU per delivery,
#                               CPU per handshake from its ramp): 10,000 connections, 10,000 records/s
#   redis, redis-nohistory      Redis commands per connect, targeted message, broadcast, held token and heartbeat, and
#                               per client of a drained node coming back with since= (INFO commandstats once a second
#                               around each phase); Redis memory per connection and per stored message
# then io.odin.ws.loadtest.capacity.FiguresReport merges them over docs/benchmarks/figures.json (what nothing here
# measures, assumptions and other measurements' figures, is kept) and writes target/benchmarks/figures.json.
#   scripts/benchmarks figures                          all of it (about 15 minutes)
#   scripts/benchmarks targeted-kafka redis redis-nohistory   some of it; then FIGURES_ONLY=1 scripts/benchmarks figures
#                                                       merges the reports already in target/benchmarks
# Environment: FIGURES_REDIS_PORT (3179) and FIGURES_KAFKA_PORT (3192), FIGURES_KAFKA_CONTROLLER_PORT (3193): the
# Redis and the Kafka broker these runs start (scripts/redis-local, scripts/kafka-local) and stop again;
# FIGURES_BASE (docs/benchmarks/figures.json), FIGURES_OUT (target/benchmarks/figures.json).

figures_redis_port="${FIGURES_REDIS_PORT:-3179}"
figures_kafka_port="${FIGURES_KAFKA_PORT:-3192}"
figures_kafka_controller_port="${FIGURES_KAFKA_CONTROLLER_PORT:-3193}"
figures_kafka_dir="$out/figures-kafka"
figures_started_redis=""
figures_started_kafka=""
figures_pids=()

# shellcheck disable=SC2317  # called by the trap
figures_cleanup() {
  stop_gateway
  local pid
  for pid in "${figures_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  figures_pids=()
  if [[ -n "$figures_started_kafka" ]]; then
    KAFKA_PORT="$figures_kafka_port" KAFKA_CONTROLLER_PORT="$figures_kafka_controller_port" \
      KAFKA_LOCAL_DIR="$figures_kafka_dir" "$root/scripts/kafka-local" stop >/dev/null 2>&1 || true
    figures_started_kafka=""
  fi
  if [[ -n "$figures_started_redis" ]]; then
    REDIS_PORT="$figures_redis_port" "$root/scripts/redis-local" stop >/dev/null || true
    figures_started_redis=""
  fi
}

figures_redis_up() {
  if [[ -z "$figures_started_redis" ]]; then
    REDIS_PORT="$figures_redis_port" "$root/scripts/redis-local" start >&2
    figures_started_redis=1
  fi
}

figures_kafka_up() {
  if [[ -z "$figures_started_kafka" ]]; then
    require_free_port "$figures_kafka_port" FIGURES_KAFKA_PORT "the figures' Kafka broker"
    require_free_port "$figures_kafka_controller_port" FIGURES_KAFKA_CONTROLLER_PORT "the figures' Kafka controller"
    KAFKA_PORT="$figures_kafka_port" KAFKA_CONTROLLER_PORT="$figures_kafka_controller_port" \
      KAFKA_LOCAL_DIR="$figures_kafka_dir" "$root/scripts/kafka-local" start --partitions 6 >&2
    figures_started_kafka=1
  fi
}

figures_now() { date +%s%3N; }

# figures_await_connections N: until the gateway's /health counts N connections (at most 2 minutes)
figures_await_connections() {
  local n
  for _ in $(seq 1 600); do
    n="$(curl -fsS "http://127.0.0.1:$http_port/health" 2>/dev/null | grep -o '"connections":[0-9]*' | head -1 | cut -d: -f2)"
    [[ "${n:-0}" -ge "$1" ]] && return 0
    sleep 0.2
  done
  echo "benchmarks: the gateway did not reach $1 connections (last: ${n:-none})" >&2
  return 1
}

figures_targeted_kafka() {
  figures_redis_up
  figures_kafka_up
  redis-cli -p "$figures_redis_port" flushall >/dev/null
  ODIN_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$figures_kafka_port" ODIN_REDIS_URL="redis://127.0.0.1:$figures_redis_port" \
    run targeted-kafka --publish kafka --kafka-bootstrap "127.0.0.1:$figures_kafka_port" --topic odin-events \
    --connections 10000 --ramp 2000 --rate 10000 --mix 100:0 --batch 50 --max-in-flight 64 \
    --warmup 30s --duration 30s --drain 20s --verify-routing
}

# figures_redis history|nohistory: one gateway on the figures' Redis, 2,000 connections held by one load-tool process
# (--reconnect-with-cursor), then the phases, each written to phases.txt as NAME START_MS END_MS COUNT
figures_redis() {
  local mode="$1" dir="$out/redis-$1" history=true
  [[ "$mode" == history ]] || history=false
  figures_redis_up
  rm -rf "$dir" && mkdir -p "$dir"
  redis-cli -p "$figures_redis_port" flushall >/dev/null
  local ws="ws://127.0.0.1:$ws_port/ws" api="http://127.0.0.1:$http_port/api/publish"
  ( while :; do echo "@ $(figures_now)"; redis-cli -p "$figures_redis_port" info all; sleep 1; done ) >"$dir/samples.txt" 2>/dev/null &
  local sampler=$!
  figures_pids+=("$sampler")
  sleep 1.5
  ODIN_REDIS_URL="redis://127.0.0.1:$figures_redis_port" ODIN_HISTORY_ENABLED="$history" start_gateway "redis-$mode"
  echo "== redis-$mode (load average $(cut -d' ' -f1-3 /proc/loadavg)): 2,000 connections, then their messages" >&2
  local t0 t1 accepted
  t0="$(figures_now)"
  "$root/scripts/loadtest" --url "$ws" --connections 2000 --ramp 1000 --rate 0 --duration 600s --reconnect-with-cursor --quiet \
    --label "redis-$mode-held" >"$dir/held.txt" 2>&1 &
  local held=$!
  figures_pids+=("$held")
  figures_await_connections 2000
  sleep 1
  t1="$(figures_now)"
  echo "connect $t0 $t1 2000" >>"$dir/phases.txt"
  for kind in targeted broadcast; do
    local mix="100:0" rate=1000
    [[ "$kind" == targeted ]] || { mix="0:100"; rate=5; }
    t0="$(figures_now)"
    "$root/scripts/loadtest" --url "$ws" --publish-url "$api" --connections 0 --tokens 2000 --rate "$rate" \
      --mix "$mix" --batch 10 --duration 20s --drain 2s --quiet --label "redis-$mode-$kind" \
      --report "$dir/$kind.json" >/dev/null 2>&1 || true
    t1="$(figures_now)"
    accepted="$(grep -o '"accepted" *: *[0-9]*' "$dir/$kind.json" | head -1 | grep -o '[0-9]*$')"
    echo "$kind $t0 $t1 ${accepted:?no accepted count in $dir/$kind.json}" >>"$dir/phases.txt"
    sleep 2
  done
  if [[ "$history" == true ]]; then
    redis-cli -p "$figures_redis_port" --raw xrange 'odin:h:{t:lt-0}' - + COUNT 1 | awk 'f { print; exit } $0 == "f" { f = 1 }' \
      >"$dir/frame.txt"
  fi
  # idle: two heartbeats (registry.heartbeat, 30 s) at least
  t0="$(figures_now)"
  sleep 70
  t1="$(figures_now)"
  echo "idle $t0 $t1 2000" >>"$dir/phases.txt"
  # reconnect: the node drained (clients get 1001), a new one on the same ports; the clients come back with since=
  t0="$(figures_now)"
  stop_gateway
  ODIN_REDIS_URL="redis://127.0.0.1:$figures_redis_port" ODIN_HISTORY_ENABLED="$history" start_gateway "redis-$mode-2"
  figures_await_connections 2000
  sleep 2
  t1="$(figures_now)"
  echo "reconnect $t0 $t1 2000" >>"$dir/phases.txt"
  sleep 1.5
  figures_cleanup_run "$held" "$sampler"
  stop_gateway
}

# figures_cleanup_run PID...: stops these (by PID) and forgets them
figures_cleanup_run() {
  local pid keep=()
  for pid in "$@"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for pid in "${figures_pids[@]}"; do
    [[ " $* " == *" $pid "* ]] || keep+=("$pid")
  done
  figures_pids=("${keep[@]}")
}

# figures [SCENARIO...]: the scenarios (default: all), then the figures file
figures() {
  local base="${FIGURES_BASE:-$root/docs/benchmarks/figures.json}" dest="${FIGURES_OUT:-$out/figures.json}"
  if [[ -z "${FIGURES_ONLY:-}" ]]; then
    run idle --connections 15000 --ramp 2000 --rate 0 --duration 20s --server-gc
    run broadcast --connections 15000 --ramp 2000 --rate 2 --mix 0:100 --warmup 30s --duration 60s --verify-routing
    run targeted --connections 15000 --ramp 2000 --rate 20000 --mix 100:0 --batch 50 --max-in-flight 8 --warmup 30s --duration 30s --verify-routing
    figures_targeted_kafka
    figures_redis history
    figures_redis nohistory
  fi
  figures_cleanup
  java -cp "$root/loadtest/target/odin-loadtest.jar" io.odin.ws.loadtest.capacity.FiguresReport --dir "$out" \
    --base "$base" --out "$dest" --gateway "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
  echo "benchmarks: a plan from these figures: scripts/capacity-plan --figures $dest --connections 1M ...;" \
    "to make them the planner's default: cp $dest docs/benchmarks/figures.json" >&2
}
