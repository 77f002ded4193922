#!/usr/bin/env bash
# Creates the secret files docker-compose.yml mounts, when missing. Random
# passwords for Postgres, Redis and Grafana; empty files for the credentials
# only the operator knows (fill them in: one value, no quotes). Idempotent.
#
# Permissions: this directory is 0700 (only its owner gets in), the files are
# 0644 so that the non-root container users (uid 10001, grafana 472) can read
# the single file bind-mounted into them.
set -euo pipefail
cd "$(dirname "$0")"
chmod 0700 .
umask 022

rand() { head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32; }
put() { # name content
  if [ ! -e "$1" ]; then printf '%s\n' "$2" > "$1"; chmod 0644 "$1"; echo "created $1"; fi
}

put postgres_password "$(rand)"
# pgpass for the product (PGPASSFILE): host:port:database:user:password.
put pgpass "*:*:*:failover:$(tr -d '\n' < postgres_password)"
put redis_password "$(rand)"
put grafana_admin_password "$(rand)"
for f in vcenter_password cloudstack_api_key cloudstack_secret_key api_tokens; do
  [ -e "$f" ] || { : > "$f"; chmod 0644 "$f"; echo "created $f (empty: fill it in)"; }
done
