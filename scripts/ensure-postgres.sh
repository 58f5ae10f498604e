#!/usr/bin/env bash
# Installs Debian's postgresql when it is missing: the relay's store tests start their own
# throwaway servers from its binaries (initdb, pg_ctl), so the package's own cluster is stopped.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-postgres: PostgreSQL is missing and this is not root; run: sudo apt-get install -y postgresql" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# Where the package started its default cluster (a host with an init system), stop it.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h | awk '$4 == "online" { print $1, $2 }' | while read -r version cluster; do
    pg_ctlcluster "$version" "$cluster" stop || true
  done
fi
ls -d /usr/lib/postgresql/*/bin >&2
