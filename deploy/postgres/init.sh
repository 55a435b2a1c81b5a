#!/usr/bin/env bash
# PostgreSQL's first-start hook (docker-entrypoint-initdb.d): create the services' roles and
# databases with deploy/postgres/init.sql, each role's password read from its secret file.
set -euo pipefail
args=()
for service in submission dedup aggregation notify; do
  file="/run/secrets/postgres_${service}_password"
  args+=(-v "${service}_password=$(cat "$file")")
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres "${args[@]}" \
  -f /docker-entrypoint-initdb.d/init.sql.in
