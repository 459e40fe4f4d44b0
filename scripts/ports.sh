# shellcheck shell=bash
# Sourced by the local scripts that open or use ports: a port a script is about to take must be free, and when it
# is not, the script stops and names the variable that sets it, so a second copy on the same machine (another
# checkout, another run) is one variable away from running beside the first.

# port_taken PORT [HOST]: something listens on HOST:PORT (HOST 127.0.0.1 by default)
port_taken() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# require_free_port PORT VARIABLE [WHAT] [HOST]: exits 1, naming VARIABLE, when HOST:PORT is taken
require_free_port() {
  if port_taken "$1" "${4:-127.0.0.1}"; then
    echo "$(basename "$0"): port ${4:-127.0.0.1}:$1${3:+ ($3)} is taken by another process: set $2 to a free port" >&2
    exit 1
  fi
}
