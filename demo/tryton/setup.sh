#!/usr/bin/env bash
# A real Tryton ERP for Keylink: install trytond 8.2 + modules into its own venv, create a
# SQLite database, activate the modules, seed it through proteus and (with --start) run
# trytond on a loopback port.
#
#   demo/tryton/setup.sh            install + seed (idempotent; fast when already done)
#   demo/tryton/setup.sh --start    the same, then run trytond in the foreground
#   demo/tryton/setup.sh --reseed   throw the database away and seed it again
#
# Environment (all optional):
#   KEYLINK_TRYTON_HOME       where the venv, database and config live
#                             (default: <repo>/.cache/tryton)
#   KEYLINK_TRYTON_PORT       loopback port for --start (default 8069)
#   KEYLINK_TRYTON_DB         database name (default keylink)
#   KEYLINK_TRYTON_PASSWORD   admin password; otherwise read from $HOME/admin-password,
#                             created with a default for this local test database
#   PYTHON                    interpreter for the venv (default python3)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
home="${KEYLINK_TRYTON_HOME:-$repo/.cache/tryton}"
port="${KEYLINK_TRYTON_PORT:-8069}"
db="${KEYLINK_TRYTON_DB:-keylink}"
python="${PYTHON:-python3}"
venv="$home/venv"
data="$home/data"
conf="$home/trytond.conf"
passfile="$home/admin-password"
start=false
reseed=false
for arg in "$@"; do
  case "$arg" in
    --start) start=true ;;
    --reseed) reseed=true ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

log() { echo "tryton-setup: $*" >&2; }
t0=$(date +%s)
mkdir -p "$home" "$data"

# 1. The venv, reused while the requirement list is unchanged.
req_hash=$(sha256sum "$here/requirements.txt" | cut -c1-16)
if [[ ! -x "$venv/bin/trytond" || "$(cat "$venv/.keylink-req" 2>/dev/null)" != "$req_hash" ]]; then
  log "installing Tryton into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$req_hash" > "$venv/.keylink-req"
else
  log "reusing $venv"
fi

# 2. Admin password: from the environment, else a file next to the database.
if [[ -n "${KEYLINK_TRYTON_PASSWORD:-}" ]]; then
  printf '%s' "$KEYLINK_TRYTON_PASSWORD" > "$passfile"
elif [[ ! -s "$passfile" ]]; then
  printf '%s' "keylink-admin" > "$passfile"
fi
chmod 600 "$passfile"

# 3. The config (loopback only; a long session timeout for a machine client).
cat > "$conf" <<EOF
[database]
uri = sqlite://
path = $data

[web]
listen = 127.0.0.1:$port

[session]
timeout = 3600
max_attempt = 50
EOF

# 4. The database, reseeded only when the seed (script and its proteus kit) or the modules
# changed.
seed_hash=$( (cat "$here/seed.py" "$here/proteus_kit.py" "$here/requirements.txt"; echo "$db"; date +%Y) | sha256sum | cut -c1-16)
stamp="$data/$db.seeded"
if $reseed || [[ ! -f "$data/$db.sqlite" || "$(cat "$stamp" 2>/dev/null)" != "$seed_hash" ]]; then
  log "creating database $db"
  rm -f "$data/$db.sqlite" "$stamp"
  touch "$data/$db.sqlite"
  modules="party company currency country product account account_product account_invoice sale project timesheet company_work_time purchase sale_discount sale_amendment account_credit_limit project_invoice"
  # shellcheck disable=SC2086
  TRYTONPASSFILE="$passfile" "$venv/bin/trytond-admin" -c "$conf" -d "$db" --all \
    -u $modules --activate-dependencies --email admin@example.invalid -v >/dev/null
  log "seeding $db through proteus"
  TRYTONPASSFILE="$passfile" "$venv/bin/python" "$here/seed.py" --config "$conf" --database "$db" \
    > "$data/$db.seed.json"
  echo "$seed_hash" > "$stamp"
else
  log "reusing seeded database $data/$db.sqlite"
fi
log "ready in $(( $(date +%s) - t0 )) s (db $db, config $conf)"

if $start; then
  log "starting trytond on 127.0.0.1:$port"
  exec "$venv/bin/trytond" -c "$conf" -d "$db"
fi
