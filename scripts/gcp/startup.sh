#!/bin/bash
# Startup script of a gateway VM (Container-Optimized OS), set by scripts/gcp/template as the instance's
# startup-script metadata; it runs as root on every boot. It runs the odin-ws container with Docker itself,
# not through the deprecated container agent (konlet / create-with-container):
#   - reads its settings from the instance metadata: odin-image, odin-shards, odin-cluster-label,
#     odin-event-bus-port, odin-redis-url, odin-kafka-bootstrap, odin-java-opts, odin-env (KEY=VALUE lines),
#     hazelcast-config (conf/cluster/hazelcast-gcp.xml);
#   - raises the kernel's connection limits, logs Docker in to Artifact Registry with the VM's service account;
#   - runs the container on the host network (Hazelcast and the event bus advertise the VM's own address),
#     clustered by GCP discovery on the label odin-ws-cluster, restarted by Docker if it exits.
#   scripts/gcp/startup.sh --dry-run   prints the commands; metadata from META_<key> variables
#                                      (META_odin_image=..., dashes as underscores)
set -euo pipefail

dry_run=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    -h|--help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
    *) echo "startup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

state=/var/lib/odin-ws        # /var is writable and survives reboots on Container-Optimized OS
# attr KEY [DEFAULT]: one instance metadata value
attr() {
  local v
  if [[ "$dry_run" == 1 ]]; then
    local var="META_${1//-/_}"
    v="${!var-}"
  else
    v="$(curl -fsS -H 'Metadata-Flavor: Google' \
      "http://metadata.google.internal/computeMetadata/v1/instance/attributes/$1" 2>/dev/null || true)"
  fi
  printf '%s' "${v:-${2:-}}"
}
own_ip() {
  if [[ "$dry_run" == 1 ]]; then
    [[ -n "${META_ip:-}" ]] || echo "startup.sh: dry run: 10.128.0.10 is a placeholder for this VM's own address" >&2
    printf '%s' "${META_ip:-10.128.0.10}"; return
  fi
  curl -fsS -H 'Metadata-Flavor: Google' \
    http://metadata.google.internal/computeMetadata/v1/instance/network-interfaces/0/ip
}
run() {
  if [[ "$dry_run" == 1 ]]; then printf '%s\n' "$*"; else "$@"; fi
}
write() {   # write FILE: stdin to FILE (a dry run prints it)
  if [[ "$dry_run" == 1 ]]; then printf '### %s\n' "$1"; cat; else cat >"$1"; fi
}

image="$(attr odin-image)"
[[ -n "$image" ]] || { echo "startup.sh: metadata odin-image is missing" >&2; exit 1; }
label="$(attr odin-cluster-label production)"
ip="$(own_ip)"
registry="${image%%/*}"

run mkdir -p "$state"
# one connection is one socket: the defaults (1,024 files, a backlog of 4,096) are far below a node's load
run sysctl -w fs.file-max=4194304 fs.nr_open=2097152 net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535

attr hazelcast-config | sed "s/odin-ws-cluster=production/odin-ws-cluster=$label/" | write "$state/hazelcast-gcp.xml"
{
  attr odin-env
  echo
  # after the operator's lines, so the deployment's own settings win
  echo "ODIN_NODE_ID=$(hostname)"
  echo "ODIN_SHARDS=$(attr odin-shards auto)"
  echo "ODIN_CLUSTER=true"
  echo "ODIN_CLUSTER_CONFIG=/etc/odin-ws/hazelcast-gcp.xml"
  echo "ODIN_CLUSTER_HOST=$ip"
  echo "ODIN_CLUSTER_EVENT_BUS_PORT=$(attr odin-event-bus-port 5801)"
  redis="$(attr odin-redis-url)"
  [[ -z "$redis" ]] || echo "ODIN_REDIS_URL=$redis"
  kafka="$(attr odin-kafka-bootstrap)"
  [[ -z "$kafka" ]] || echo "ODIN_KAFKA_BOOTSTRAP_SERVERS=$kafka"
  java_opts="$(attr odin-java-opts)"
  [[ -z "$java_opts" ]] || echo "JAVA_TOOL_OPTIONS=$java_opts"
} | grep -v '^[[:space:]]*\(#\|$\)' | write "$state/odin.env"

# docker-credential-gcr ships with Container-Optimized OS; it keeps its settings under HOME
export HOME="$state"
if [[ "$registry" == *.pkg.dev ]]; then
  run docker-credential-gcr configure-docker --registries="$registry"
fi
for attempt in 1 2 3 4 5 6 7 8 9 10; do   # the network may come up after this script starts
  run docker pull "$image" && break
  [[ "$attempt" -lt 10 ]] || exit 1
  sleep 6
done
run docker rm -f odin-ws || true   # the container of the previous boot
# --network host: Hazelcast and the event bus bind and advertise the VM's address; --stop-timeout gives the
# gateway time to close its clients with 1001 (going away) when the VM stops or is replaced
run docker run -d --name odin-ws --restart=always --network=host \
  --ulimit nofile=1048576:1048576 --stop-timeout 30 --log-driver=gcplogs \
  --env-file "$state/odin.env" \
  -v "$state/hazelcast-gcp.xml:/etc/odin-ws/hazelcast-gcp.xml:ro" \
  "$image"
