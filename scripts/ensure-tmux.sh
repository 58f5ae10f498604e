#!/usr/bin/env sh
# Installs tmux from Debian's packages when it is missing (the live-delivery tests drive real panes).
set -eu
if command -v tmux >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tmux >/dev/null
tmux -V
