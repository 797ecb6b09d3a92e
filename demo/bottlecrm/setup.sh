#!/usr/bin/env bash
# BottleCRM (django-crm 1.35.0, a Django REST CRM) as a real CRM for Keylink's tests:
# installed once into a cache folder (its own Python 3.12 venv from requirements.txt), its
# own template database on the machine's PostgreSQL migrated once (about 1.5 minutes) and
# reused while the pinned requirements do not change; each test run clones the template.
#
#   demo/bottlecrm/setup.sh                      install and migrate the template (idempotent)
#   demo/bottlecrm/setup.sh --clone DB           the same, then DB as a fresh copy of the template
#   demo/bottlecrm/setup.sh --drop DB            drop DB (a clone), even with connections open
#   demo/bottlecrm/setup.sh --admin DB ARGS...   django-admin ARGS on DB (e.g. devlogin)
#   demo/bottlecrm/setup.sh --serve DB PORT LOG  serve DB with gunicorn on 127.0.0.1:PORT in
#                                                the foreground, its access log in LOG
#
# Environment (all optional):
#   KEYLINK_BOTTLECRM_HOME    the cache folder (default: <repo>/.cache/bottlecrm)
#   KEYLINK_BOTTLECRM_PYTHON  a Python 3.12 (default: python3.12 on PATH, else pyenv's 3.12)
#   PGHOST PGPORT PGUSER      the PostgreSQL server (default 127.0.0.1, 5432, postgres; trust)
#
# Exit 3 when no Python 3.12 or no PostgreSQL is found (the tests skip, or fail under CI).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
home="${KEYLINK_BOTTLECRM_HOME:-$repo/.cache/bottlecrm}"
export PGOPTIONS="--client-min-messages=warning"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
template=keylink_bottlecrm_template
log() { echo "bottlecrm-setup: $*" >&2; }

find_python() {
  local candidate
  for candidate in "${KEYLINK_BOTTLECRM_PYTHON:-}" "$(command -v python3.12 || true)" \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
    if [[ -n "$candidate" && -x "$candidate" ]] \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

# What BottleCRM's settings read (crm/settings.py); the secret key is made once per cache
# folder so a token minted by django-admin is valid for the served app.
crm_env() {
  export DJANGO_SETTINGS_MODULE=crm.settings DBNAME="$1" DBUSER="$PGUSER" DBPASSWORD="" \
    DBHOST="$PGHOST" DBPORT="$PGPORT" CELERY_BROKER_URL=memory:// \
    CELERY_RESULT_BACKEND=cache+memory:// CELERY_TASK_ALWAYS_EAGER=false ENV_TYPE=dev \
    SECRET_KEY="$(cat "$home/secret-key")" ALLOWED_HOSTS=127.0.0.1,localhost \
    EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend
}

install() {
  local python stamp
  python="$(find_python)" || { log "no Python 3.12 found (pyenv install 3.12 gives one)"; exit 3; }
  pg_isready -q -h "$PGHOST" -p "$PGPORT" || { log "no PostgreSQL at $PGHOST:$PGPORT"; exit 3; }
  mkdir -p "$home"
  [[ -s "$home/secret-key" ]] || head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > "$home/secret-key"
  stamp=$(sha256sum < "$here/requirements.txt" | cut -c1-16)
  if [[ ! -x "$home/venv/bin/django-admin" || "$(cat "$home/.installed" 2>/dev/null)" != "$stamp" ]]; then
    log "installing BottleCRM into $home/venv ($("$python" -V))"
    rm -rf "$home/venv" "$home/.installed" "$home/.migrated"
    "$python" -m venv "$home/venv"
    "$home/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" \
      >"$home/pip.log" 2>&1 || { log "pip install failed:"; tail -20 "$home/pip.log" >&2; exit 1; }
    echo "$stamp" > "$home/.installed"
  fi
  if [[ "$(cat "$home/.migrated" 2>/dev/null)" != "$stamp" ]] \
    || [[ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$template'")" ]]; then
    log "migrating the template database $template (about 1.5 minutes, once)"
    psql_admin -c "DROP DATABASE IF EXISTS $template WITH (FORCE)"
    psql_admin -c "CREATE DATABASE $template"
    (crm_env "$template" && "$home/venv/bin/django-admin" migrate --noinput >"$home/migrate.log" 2>&1) \
      || { log "migrate failed:"; tail -20 "$home/migrate.log" >&2; exit 1; }
    echo "$stamp" > "$home/.migrated"
  fi
}

t0=$(date +%s)
mkdir -p "$home"
exec 9>"$home/.lock"
flock 9  # one install at a time, also across test processes
install
case "${1:-}" in
  "") log "ready in $(( $(date +%s) - t0 )) s" ;;
  --clone)
    psql_admin -c "CREATE DATABASE \"$2\" TEMPLATE $template"
    log "database $2 cloned from $template in $(( $(date +%s) - t0 )) s" ;;
  --drop) flock -u 9; psql_admin -c "DROP DATABASE IF EXISTS \"$2\" WITH (FORCE)" ;;
  --admin)
    flock -u 9; db=$2; shift 2
    # BottleCRM writes its own log files (server.log, security_audit.log) into the working
    # folder: keep them in the cache folder, never in the caller's
    crm_env "$db"; mkdir -p "$home/run"; cd "$home/run"
    DEBUG=true exec "$home/venv/bin/django-admin" "$@" ;;
  --serve)
    flock -u 9; crm_env "$2"; access_log="$(realpath -m "$4")"
    mkdir -p "$home/run"; cd "$home/run"
    exec "$home/venv/bin/gunicorn" crm.wsgi:application --bind "127.0.0.1:$3" --workers 2 \
      --no-control-socket --access-logfile "$access_log" --error-logfile - --log-level warning ;;
  -h|--help) sed -n '2,19p' "$0" ;;
  *) echo "setup.sh: unknown argument $1" >&2; exit 2 ;;
esac
