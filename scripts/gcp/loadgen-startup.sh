#!/bin/bash
# Startup script of the load-generator VM (Debian 12), set by scripts/gcp/loadtest: installs a JRE for the
# load tool, raises the limits one process needs for tens of thousands of client sockets, then marks the VM
# ready (/var/lib/odin-loadgen/ready).
#   scripts/gcp/loadgen-startup.sh --dry-run   prints the commands instead of running them
set -euo pipefail

dry_run=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    -h|--help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
    *) echo "loadgen-startup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
run() {
  if [[ "$dry_run" == 1 ]]; then printf '%s\n' "$*"; else "$@"; fi
}

export DEBIAN_FRONTEND=noninteractive
run apt-get update -qq
run apt-get install -y -qq openjdk-17-jre-headless curl
# every connection is a socket and an ephemeral port; one destination address gives 64,000 ports at most
run sysctl -w fs.file-max=4194304 fs.nr_open=2097152 net.ipv4.ip_local_port_range="1024 65535" \
  net.ipv4.tcp_tw_reuse=1
if [[ "$dry_run" == 1 ]]; then
  echo "write /etc/security/limits.d/odin-loadgen.conf: * soft/hard nofile 1048576"
else
  printf '* soft nofile 1048576\n* hard nofile 1048576\n' >/etc/security/limits.d/odin-loadgen.conf
fi
run mkdir -p /var/lib/odin-loadgen
run touch /var/lib/odin-loadgen/ready
