#!/usr/bin/env bash
# The SAP-style OData v4 test ERP for Keylink: install the pinned SAP CAP runtime
# (@sap/cds 9.9 with @cap-js/sqlite, from package-lock.json) into a cache folder with
# `npm ci`, again only when the lock file changed; with --start, serve the model
# (in-memory SQLite seeded from db/data) on a loopback port.
#
#   demo/sap/setup.sh            install (idempotent; instant when already done)
#   demo/sap/setup.sh --start    the same, then serve in the foreground
#
# Environment (all optional):
#   KEYLINK_SAP_HOME   where node_modules live (default: <repo>/.cache/sap)
#   KEYLINK_SAP_PORT   loopback port for --start (default 4004)
#
# No global install and no native build: install scripts are skipped, so @cap-js/sqlite
# runs on sql.js (SQLite compiled to WebAssembly) instead of better-sqlite3.
# Needs node 20 (cds 9; cds 10 needs node 22) and npm.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
home="${KEYLINK_SAP_HOME:-$repo/.cache/sap}"
port="${KEYLINK_SAP_PORT:-4004}"
start=false
for arg in "$@"; do
  case "$arg" in
    --start) start=true ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

log() { echo "sap-setup: $*" >&2; }
t0=$(date +%s)
mkdir -p "$home"

exec 9>"$home/.lock"
flock 9  # one install at a time, also across test processes

lock_hash=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
if [[ ! -f "$home/node_modules/@sap/cds/package.json" || "$(cat "$home/.keylink-lock" 2>/dev/null)" != "$lock_hash" ]]; then
  log "installing the pinned CAP runtime into $home (node $(node -v))"
  rm -rf "$home/node_modules" "$home/.keylink-lock"
  cp "$here/package.json" "$here/package-lock.json" "$home/"
  npm ci --prefix "$home" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  echo "$lock_hash" > "$home/.keylink-lock"
else
  log "reusing $home/node_modules"
fi
flock -u 9
log "ready in $(( $(date +%s) - t0 )) s ($home/node_modules)"

if $start; then
  # served from a copy beside node_modules, so the repository gets no node_modules link
  project="$home/project"
  rm -rf "$project" && mkdir -p "$project"
  cp -r "$here/package.json" "$here/server.js" "$here/db" "$here/srv" "$project/"
  ln -sfn "$home/node_modules" "$project/node_modules"
  log "serving on 127.0.0.1:$port"
  cd "$project"
  exec node "$home/node_modules/@sap/cds/bin/serve.js" all --port "$port"
fi
