#!/usr/bin/env bash
# Installs the agents' real CLIs, pinned, into a cache folder the end-to-end tests in
# test/agents/real/ run them from (one folder per name@version, so a new pin never reuses an old one).
set -euo pipefail
cache="${REPOWIRE_AGENTS_CACHE:-$HOME/.cache/repowire-test/agents}"
install() {
  local name="$1" version="$2" bin="$3"
  local dir="$cache/$(echo "$name" | tr '/' '+')@$version"
  if [ -x "$dir/node_modules/.bin/$bin" ]; then return 0; fi
  mkdir -p "$dir"
  echo "installing $name@$version into $dir" >&2
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "$name@$version" >&2
}
install @anthropic-ai/claude-code 2.1.332 claude &
install @openai/codex 0.171.0 codex &
install @google/gemini-cli 0.61.0 gemini &
install opencode-ai 1.18.33 opencode &
fail=0
for job in $(jobs -p); do wait "$job" || fail=1; done
exit $fail
