#!/usr/bin/env bash
# Make sure the PostgreSQL 15 server binaries are installed (Debian package postgresql-15).
# A no-op when $PG_BIN/initdb or /usr/lib/postgresql/15/bin/initdb exists; otherwise installs
# the package with apt-get, non-interactively (needs root, as on CI). Used by .ci/run and
# scripts/bench.mjs; scripts/pg-temp.mjs then runs a throwaway cluster from these binaries.
set -euo pipefail

PG_BIN_DIR="${PG_BIN:-/usr/lib/postgresql/15/bin}"
if [[ -x "$PG_BIN_DIR/initdb" && -x "$PG_BIN_DIR/pg_ctl" ]]; then
  echo "ensure-postgres: PostgreSQL binaries present in $PG_BIN_DIR"
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  echo "ensure-postgres: $PG_BIN_DIR/initdb is missing; install it as root: apt-get update && apt-get install -y postgresql-15" >&2
  exit 1
fi

echo "ensure-postgres: installing postgresql-15 with apt-get"
export DEBIAN_FRONTEND=noninteractive
# Keep the package's own cluster from being started as a service during the install
# (our tests start their own throwaway server); restore the previous state afterwards.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() { if [[ "$created_policy" -eq 1 ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -q
apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  postgresql-15 < /dev/null

if [[ ! -x /usr/lib/postgresql/15/bin/initdb ]]; then
  echo "ensure-postgres: postgresql-15 installed but /usr/lib/postgresql/15/bin/initdb is missing" >&2
  exit 1
fi
echo "ensure-postgres: installed $(/usr/lib/postgresql/15/bin/postgres --version)"
