#!/usr/bin/env bash
# Smoke test of the docs page as a person sees it: builds the server, runs it
# on a throwaway database, loads /docs in headless Chromium with every other
# host unresolvable, and checks that Swagger UI rendered each operation of
# openapi.yaml from assets the server itself served, under the page's
# Content-Security-Policy with nothing refused.
#
# Needs PostgreSQL (TEST_DATABASE_URL, default: local trust on 127.0.0.1)
# and Debian's chromium package (installed when missing and run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

admin_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
work=$(mktemp -d)
db="docs_smoke_$$"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing chromium"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
  else
    echo "docs-smoke: chromium is not installed" >&2; exit 1
  fi
fi

echo "building the server"
go build -o "$work/api" ./cmd/api

psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null
db_url=$(printf '%s' "$admin_url" | sed -E "s#/[^/?]*(\?|$)#/$db\1#")

# Run from an empty directory, so that no .env is read; port 0 lets the
# kernel pick a free port, which the server logs.
(
  cd "$work"
  exec env -i PATH="$PATH" HOME="$work" \
    DATABASE_URL="$db_url" JWT_SECRET="$(head -c 48 /dev/urandom | base64)" SECRETS_KEY="$(head -c 32 /dev/urandom | base64)" \
    BOOTSTRAP_MANAGER_PASSWORD="$(head -c 24 /dev/urandom | base64)" BCRYPT_COST=4 \
    HTTP_ADDR=127.0.0.1:0 ./api serve
) >"$work/server.log" 2>&1 &
server_pid=$!

addr=""
for _ in $(seq 1 60); do
  addr=$(sed -nE 's/.*"msg":"listening","addr":"([^"]+)".*/\1/p' "$work/server.log" | head -n 1)
  [ -n "$addr" ] && curl -fsS "http://$addr/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "docs-smoke: the server stopped" >&2; exit 1; }
  sleep 0.5
done
[ -n "$addr" ] || { cat "$work/server.log"; echo "docs-smoke: the server did not start" >&2; exit 1; }
echo "server on $addr"

echo "loading /docs in headless chromium"
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage \
  --user-data-dir="$work/profile" \
  --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
  --enable-logging=stderr --v=0 \
  --virtual-time-budget=20000 --dump-dom "http://$addr/docs" >"$work/dom.html" 2>"$work/chromium.log" \
  || { tail -n 20 "$work/chromium.log"; echo "docs-smoke: chromium failed" >&2; exit 1; }

fail() { echo "docs-smoke: $*" >&2; exit 1; }
operations=$(grep -c '^      operationId: ' "$repo/openapi.yaml")
rendered=$(grep -o 'class="opblock opblock-[a-z]*' "$work/dom.html" | wc -l)
echo "openapi.yaml has $operations operations; the page rendered $rendered"
[ "$rendered" -ge "$operations" ] || fail "the page rendered $rendered operations, want $operations"
for path in /v1/auth/login /v1/collaborators/{id} /v1/events/{id}/history /openapi.yaml; do
  grep -qF "data-path=\"$path\"" "$work/dom.html" || fail "operation $path not on the page"
done
grep -qF 'Epic Events CRM API' "$work/dom.html" || fail "the title is not on the page"
# The page's scripts and style sheet came from this server (no other host
# resolves for the browser).
assets=$(grep -c '"msg":"request","method":"GET","route":"/docs/{file}","status":200' "$work/server.log" || true)
[ "$assets" -ge 3 ] || fail "the server served $assets assets of the page, want at least 3"
grep -q '"msg":"request","method":"GET","route":"/openapi.yaml","status":200' "$work/server.log" \
  || fail "the page did not load /openapi.yaml"
# The page is served under a Content-Security-Policy, and the browser
# refused nothing under it (Chromium logs each refusal on the console).
curl -fsS -o /dev/null -D "$work/headers.txt" "http://$addr/docs"
grep -qi '^content-security-policy: ' "$work/headers.txt" || fail "/docs has no Content-Security-Policy"
if grep -F ':CONSOLE' "$work/chromium.log" | grep -qi 'content security policy'; then
  grep -F ':CONSOLE' "$work/chromium.log" >&2
  fail "the browser refused part of the page under its Content-Security-Policy"
fi
echo "docs-smoke: ok"
