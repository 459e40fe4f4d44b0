# shellcheck shell=bash
# shellcheck disable=SC2034  # the names set here are used by the scripts that source it
# Shared by every scripts/gcp/* script (sourced, not run): parameters from the environment with defaults, and
# the dry-run switch. With --dry-run (or GCP_DRY_RUN=1) every gcloud command is printed on stdout, one per line,
# instead of being run; commands that only look something up (describe, list) are printed too and answer
# "missing" or a placeholder, so a dry run shows what a deployment into an empty project would do. Each
# placeholder is marked by a comment line (# dry run: ...): instance names such as odin-ws-dry0 and addresses
# such as 10.128.0.10 in later commands are made up.
# Without --dry-run each command is echoed on stderr ("+ gcloud ...") and run.

set -euo pipefail

gcp_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$gcp_dir/../.." && pwd)"
# fd 3 is the script's real stdout: printed commands reach it even from inside $(...)
exec 3>&1

GCP_DRY_RUN="${GCP_DRY_RUN:-0}"

dry() { [[ "$GCP_DRY_RUN" == 1 ]]; }

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# usage: the script's header comment (line 2 up to the first line that is not a comment)
usage() { awk 'NR == 1 || /^# shellcheck/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }

# The options every script takes; a script with its own arguments handles them before calling this.
common_option() {
  case "$1" in
    --dry-run) GCP_DRY_RUN=1; export GCP_DRY_RUN ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$(basename "$0"): unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
}

# One shell line for a command: words that need quoting get single quotes, so the line can be pasted back.
quote_cmd() {
  local out="" a
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=,@%+^-]+$ ]]; then
      out+="$a "
    else
      out+="'${a//\'/\'\\\'\'}' "
    fi
  done
  printf '%s' "${out% }"
}

# run CMD...: print it (dry run) or run it
run() {
  if dry; then
    printf '%s\n' "$(quote_cmd "$@")" >&3
  else
    printf '+ %s\n' "$(quote_cmd "$@")" >&2
    "$@"
  fi
}

# capture PLACEHOLDER CMD...: the command's output; a dry run prints the command, then a comment line that marks
# PLACEHOLDER as made up (what later commands show of it, names and addresses, is not a real resource), and
# answers PLACEHOLDER
capture() {
  local placeholder="$1"; shift
  if dry; then
    printf '%s\n' "$(quote_cmd "$@")" >&3
    printf '# dry run: the command above is not run; a placeholder stands for its answer: %s\n' "${placeholder//$'\n'/; }" >&3
    printf '%s\n' "$placeholder"
  else
    printf '+ %s\n' "$(quote_cmd "$@")" >&2
    "$@"
  fi
}

# exists CMD...: whether a describe command finds its resource; a dry run prints it and answers no
exists() {
  if dry; then
    printf '%s\n' "$(quote_cmd "$@")" >&3
    return 1
  fi
  "$@" >/dev/null 2>&1
}

# present CMD...: like exists, but a dry run answers yes (teardown shows every delete it would do)
present() {
  if dry; then
    printf '%s\n' "$(quote_cmd "$@")" >&3
    return 0
  fi
  "$@" >/dev/null 2>&1
}

# GCP_PLAN=FILE: a capacity plan's variables (scripts/capacity-plan ... --format env: GCP_SIZE, GCP_MACHINE_TYPE and the
# capacity test's GCP_LOADTEST_*), one GCP_NAME=VALUE per line, # comments; a variable already set in the environment
# wins over the plan's. Anything else in the file stops the script: it is read, never run.
load_plan() {
  [[ -n "${GCP_PLAN:-}" ]] || return 0
  [[ -f "$GCP_PLAN" ]] || die "GCP_PLAN: $GCP_PLAN is not a file (write one: scripts/capacity-plan ... --format env >FILE)"
  local line name
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ -z "$line" || "$line" == \#* ]] && continue
    [[ "$line" =~ ^(GCP_[A-Z0-9_]+)=([A-Za-z0-9._:-]*)$ ]] \
      || die "GCP_PLAN: $GCP_PLAN: '$line' is not a GCP_NAME=VALUE line (letters, digits and . _ : - in the value)"
    name="${BASH_REMATCH[1]}"
    [[ "$name" != GCP_PLAN ]] || die "GCP_PLAN: $GCP_PLAN may not set GCP_PLAN"
    [[ -n "${!name:-}" ]] || export "$name=${BASH_REMATCH[2]}"
  done <"$GCP_PLAN"
}

# Parameters (all from the environment). Resource names derive from GCP_NAME, so two deployments with two
# names share a project without touching each other.
load_config() {
  load_plan
  GCP_PROJECT="${GCP_PROJECT:-}"
  if [[ -z "$GCP_PROJECT" ]]; then
    GCP_PROJECT="$(gcloud config get-value project 2>/dev/null || true)"
  fi
  if [[ -z "$GCP_PROJECT" || "$GCP_PROJECT" == "(unset)" ]]; then
    dry || die "GCP_PROJECT is not set (nor gcloud's default project)"
    GCP_PROJECT="PROJECT_ID"
    printf '# dry run: GCP_PROJECT is not set; PROJECT_ID is a placeholder for it\n' >&3
  fi
  GCP_REGION="${GCP_REGION:-us-central1}"
  GCP_ZONES="${GCP_ZONES:-}"                               # empty: the group spreads over the region's zones
  GCP_NAME="${GCP_NAME:-odin-ws}"
  GCP_NETWORK="${GCP_NETWORK:-default}"
  GCP_SUBNET="${GCP_SUBNET:-}"
  # the VPC's own address ranges: 3004 (management) and the cluster ports are open to these only.
  # 10.128.0.0/9 holds every subnet of an auto-mode VPC such as "default".
  GCP_INTERNAL_RANGES="${GCP_INTERNAL_RANGES:-10.128.0.0/9}"
  GCP_WS_SOURCE_RANGES="${GCP_WS_SOURCE_RANGES:-0.0.0.0/0}"  # who may open WebSocket connections on 3001
  GCP_REPOSITORY="${GCP_REPOSITORY:-odin-ws}"
  GCP_IMAGE_TAG="${GCP_IMAGE_TAG:-$(git -C "$root" describe --always --dirty 2>/dev/null || echo latest)}"
  GCP_IMAGE="${GCP_IMAGE:-$GCP_REGION-docker.pkg.dev/$GCP_PROJECT/$GCP_REPOSITORY/odin-ws:$GCP_IMAGE_TAG}"
  GCP_IMAGE_BUILD="${GCP_IMAGE_BUILD:-cloud}"              # cloud (Cloud Build) or local (scripts/images + push)
  GCP_CONTAINER_CLI="${GCP_CONTAINER_CLI:-docker}"
  GCP_MACHINE_TYPE="${GCP_MACHINE_TYPE:-e2-standard-4}"
  GCP_BOOT_DISK_SIZE="${GCP_BOOT_DISK_SIZE:-20GB}"
  GCP_SIZE="${GCP_SIZE:-3}"
  GCP_SHARDS="${GCP_SHARDS:-auto}"
  GCP_CLUSTER_LABEL="${GCP_CLUSTER_LABEL:-production}"   # value of the label odin-ws-cluster (Hazelcast discovery)
  GCP_HAZELCAST_PORT=5701                                 # fixed in conf/cluster/hazelcast-gcp.xml
  GCP_EVENT_BUS_PORT="${GCP_EVENT_BUS_PORT:-5801}"
  GCP_JAVA_OPTS="${GCP_JAVA_OPTS:-}"                       # JAVA_TOOL_OPTIONS of the gateway; empty: the image's
  GCP_ENV_FILE="${GCP_ENV_FILE:-}"                         # more ODIN_* settings, KEY=VALUE lines
  GCP_REDIS_URL="${GCP_REDIS_URL:-}"                       # empty: a Memorystore instance named $GCP_NAME-registry
  GCP_REDIS_TIER="${GCP_REDIS_TIER:-standard}"
  GCP_REDIS_SIZE_GB="${GCP_REDIS_SIZE_GB:-1}"
  GCP_KAFKA_BOOTSTRAP="${GCP_KAFKA_BOOTSTRAP:-}"           # empty: the nodes run on the publish API alone
  GCP_MAX_SURGE="${GCP_MAX_SURGE:-3}"                      # a regional group needs 0 or at least its zone count
  GCP_INITIAL_DELAY="${GCP_INITIAL_DELAY:-180}"
  GCP_SERVICE_ACCOUNT="${GCP_SERVICE_ACCOUNT:-$GCP_NAME-node@$GCP_PROJECT.iam.gserviceaccount.com}"
  GCP_LOADGEN_MACHINE_TYPE="${GCP_LOADGEN_MACHINE_TYPE:-e2-standard-8}"
  GCP_LOADGEN_ZONE="${GCP_LOADGEN_ZONE:-$GCP_REGION-a}"
  GCP_OUT="${GCP_OUT:-$root/target/gcp}"

  if [[ ! "$GCP_NAME" =~ ^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$ ]]; then
    die "GCP_NAME '$GCP_NAME' is not a valid resource name (lower case letters, digits and -, at most 42)"
  fi
  if [[ ! "$GCP_SHARDS" =~ ^(auto|[1-9][0-9]*)$ ]]; then
    die "GCP_SHARDS '$GCP_SHARDS' must be auto or a positive number (it becomes ODIN_SHARDS)"
  fi
  if [[ ! "$GCP_SIZE" =~ ^[1-9][0-9]*$ ]]; then
    die "GCP_SIZE '$GCP_SIZE' must be a positive number of instances"
  fi
  # fail closed: the management port and the cluster ports must never be opened to the internet
  local r
  for r in ${GCP_INTERNAL_RANGES//,/ }; do
    case "$r" in
      0.0.0.0/0|::/0|0.0.0.0|::) die "GCP_INTERNAL_RANGES must not contain $r: 3004 and the cluster ports stay inside the VPC" ;;
    esac
  done
  HEALTH_CHECK_RANGES="130.211.0.0/22,35.191.0.0/16"   # Google's health checkers (autohealing probes)
  IAP_RANGE="35.235.240.0/20"                          # Identity-Aware Proxy: ssh without public ssh

  NODE_TAG="$GCP_NAME"
  LOADGEN_TAG="$GCP_NAME-loadgen"
  LOADGEN_VM="$GCP_NAME-loadgen"
  HEALTH_CHECK="$GCP_NAME-health"
  GROUP="$GCP_NAME"
  REDIS_INSTANCE="$GCP_NAME-registry"
}

region_flags() { printf '%s\n' --project "$GCP_PROJECT" --region "$GCP_REGION"; }

# The group's running instances, one "NAME ZONE INTERNAL_IP" line each; a dry run answers GCP_SIZE placeholders.
instances() {
  local placeholder="" i zones=(a b c)
  for ((i = 0; i < GCP_SIZE; i++)); do
    placeholder+="$GCP_NAME-dry$i $GCP_REGION-${zones[i % 3]} 10.128.0.$((10 + i))"$'\n'
  done
  capture "${placeholder%$'\n'}" gcloud compute instances list --project "$GCP_PROJECT" \
    --filter "labels.odin-ws-cluster=$GCP_CLUSTER_LABEL AND labels.odin-ws-group=$GCP_NAME AND status=RUNNING" \
    --format 'value(name,zone.basename(),networkInterfaces[0].networkIP)' --sort-by name
}

# ssh NAME ZONE COMMAND: a command on an instance, through Identity-Aware Proxy (no public ssh port)
on_vm() {
  run gcloud compute ssh "$1" --project "$GCP_PROJECT" --zone "$2" --tunnel-through-iap --quiet --command "$3"
}

# The Redis URL the nodes use: GCP_REDIS_URL, or the Memorystore instance's address
redis_url() {
  if [[ -n "$GCP_REDIS_URL" ]]; then
    printf '%s\n' "$GCP_REDIS_URL"
    return
  fi
  local host_port
  host_port="$(capture "10.0.0.3:6379" gcloud redis instances describe "$REDIS_INSTANCE" --project "$GCP_PROJECT" \
    --region "$GCP_REGION" --format 'value[separator=":"](host,port)')"
  printf 'redis://%s\n' "$host_port"
}
