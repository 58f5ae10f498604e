#!/usr/bin/env bash
# Installs what the end-to-end tests drive, from Debian's packages, when it is missing.
set -euo pipefail
here="$(dirname "$0")"
for script in "$here"/ensure-*.sh; do
  [ "$script" = "$here/ensure-test-deps.sh" ] || bash "$script"
done
