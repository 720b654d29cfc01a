#!/bin/sh
# Entrypoint of the postgres stand-in (see Containerfile): initialises an
# empty data directory from POSTGRES_USER, POSTGRES_DB and
# POSTGRES_PASSWORD(_FILE), then runs the server as user postgres.
set -eu

if [ "${1:-}" != postgres ]; then
	exec "$@"
fi
shift

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
	POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
fi
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
	echo "docker-entrypoint.sh: POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE is required" >&2
	exit 1
fi

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres /var/lib/postgresql "$PGDATA" /run/postgresql
chmod 0700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	pwfile=$(mktemp /run/postgresql/pw.XXXXXX)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	chown postgres:postgres "$pwfile"
	as_postgres initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
	rm -f "$pwfile"
	printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
	if [ "$POSTGRES_DB" != postgres ]; then
		printf 'CREATE DATABASE "%s" OWNER "%s";\n' "$POSTGRES_DB" "$POSTGRES_USER" |
			as_postgres postgres --single -D "$PGDATA" postgres >/dev/null
	fi
	echo "docker-entrypoint.sh: initialised $PGDATA"
fi

exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
	postgres -D "$PGDATA" -c listen_addresses='*' "$@"
