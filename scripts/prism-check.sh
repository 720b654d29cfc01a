#!/usr/bin/env bash
# Checks the running server against openapi.yaml with a tool nobody here
# wrote: Stoplight Prism, as a validating proxy in front of the API. The
# README's two walk-throughs and a set of error answers (400, 401, 403, 404,
# 405, 409, 412, 413, 415, 422, 429) go through the proxy, which reports in
# an sl-violations header each way an exchange breaks the document. Any
# violation of a response fails the check, and so does any violation of a
# request the server accepted; a request that is wrong on purpose (a bad
# body, a missing token) may break the document, its answer may not.
#
# Needs PostgreSQL (TEST_DATABASE_URL, default: local trust on 127.0.0.1),
# on which it makes a throwaway database, and Node.js with npm (installed
# from Debian's packages when missing and run as root). Prism is installed
# by npm into a cache folder outside the repository (PRISM_HOME).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

prism_version=5.14.2 # the last release that runs on Debian's Node.js 18
prism_home=${PRISM_HOME:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/epicevents-prism-$prism_version}
admin_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
work=$(mktemp -d)
db="prism_check_$$"
server_pid=""
prism_pid=""
cleanup() {
  for pid in "$prism_pid" "$server_pid"; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "prism-check: $*" >&2; exit 1; }

if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  [ "$(id -u)" = 0 ] || fail "Node.js and npm are not installed"
  echo "installing nodejs and npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq nodejs npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
fi
prism="$prism_home/node_modules/.bin/prism"
if [ ! -x "$prism" ] || [ "$("$prism" --version 2>/dev/null)" != "$prism_version" ]; then
  echo "installing @stoplight/prism-cli@$prism_version into $prism_home"
  mkdir -p "$prism_home"
  npm install --prefix "$prism_home" --no-audit --no-fund --no-save --loglevel=error \
    "@stoplight/prism-cli@$prism_version" >/dev/null
fi

echo "building the server"
go build -o "$work/api" ./cmd/api
psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null
db_url=$(printf '%s' "$admin_url" | sed -E "s#/[^/?]*(\?|$)#/$db\1#")
manager_password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')

# From an empty directory (no .env is read), on a port the kernel picks.
# Two failed logins of one account lock it, so that 429 comes quickly.
(
  cd "$work"
  exec env -i PATH="$PATH" HOME="$work" \
    DATABASE_URL="$db_url" JWT_SECRET="$(head -c 48 /dev/urandom | base64)" SECRETS_KEY="$(head -c 32 /dev/urandom | base64)" \
    BOOTSTRAP_MANAGER_PASSWORD="$manager_password" BCRYPT_COST=4 LOGIN_LOCKOUT_THRESHOLD=2 \
    HTTP_ADDR=127.0.0.1:0 ./api serve
) >"$work/server.log" 2>&1 &
server_pid=$!
addr=""
for _ in $(seq 1 60); do
  addr=$(sed -nE 's/.*"msg":"listening","addr":"([^"]+)".*/\1/p' "$work/server.log" | head -n 1)
  [ -n "$addr" ] && curl -fsS "http://$addr/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; fail "the server stopped"; }
  sleep 0.5
done
[ -n "$addr" ] || { cat "$work/server.log"; fail "the server did not start"; }

port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
"$prism" proxy "$repo/openapi.yaml" "http://$addr" --host 127.0.0.1 --port "$port" >"$work/prism.log" 2>&1 &
prism_pid=$!
API="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  curl -fsS "$API/healthz" >/dev/null 2>&1 && break
  kill -0 "$prism_pid" 2>/dev/null || { cat "$work/prism.log"; fail "prism stopped"; }
  sleep 0.5
done
curl -fsS "$API/healthz" >/dev/null 2>&1 || { tail -n 20 "$work/prism.log"; fail "prism did not start"; }
echo "server on $addr, prism $prism_version in front of it on 127.0.0.1:$port"

exchanges=0
broken=0
# call STATUS MODE NAME CURL-ARGS...: one exchange through the proxy. Its
# answer must have STATUS and break nothing of openapi.yaml; MODE "valid"
# requires the request to break nothing either, "invalid" lets it (the
# request is wrong on purpose). The body is left in $work/body.
call() {
  local want=$1 mode=$2 name=$3
  shift 3
  exchanges=$((exchanges + 1))
  local got
  got=$(curl -sS -o "$work/body" -D "$work/headers" -w '%{http_code}' "$@")
  local violations
  violations=$(tr -d '\r' <"$work/headers" | sed -n 's/^sl-violations: //Ip')
  local bad=""
  [ "$got" = "$want" ] || bad="status $got, want $want"
  if [ -n "$violations" ]; then
    local select='.[]'
    [ "$mode" = valid ] || select='.[] | select(.location[0] == "response")'
    local found
    found=$(printf '%s' "$violations" | jq -r "$select | \"\\(.location | join(\".\")): \\(.message)\"")
    [ -z "$found" ] || bad="${bad:+$bad; }$(printf '%s' "$found" | paste -sd ';' -)"
  fi
  if [ -n "$bad" ]; then
    broken=$((broken + 1))
    printf 'FAIL %s %s: %s\n' "$got" "$name" "$bad"
    head -c 400 "$work/body"; echo
  else
    printf 'ok   %s %s\n' "$got" "$name"
  fi
}
json=(-H 'Content-Type: application/json')
field() { jq -r "$1" "$work/body"; }
login() { # login USERNAME PASSWORD: sets $token to an access token
  call 200 valid "log in as $1" "$API/v1/auth/login" "${json[@]}" \
    -d "{\"username\": \"$1\", \"password\": \"$2\"}"
  token=$(field .access_token)
}

echo "== the README's first walk-through"
login manager "$manager_password"
TOKEN=$token
call 201 valid "create Anna (commercial)" "$API/v1/collaborators" -H "Authorization: Bearer $TOKEN" "${json[@]}" -d '{
  "employee_number": 2, "first_name": "Anna", "last_name": "Lopez", "email": "anna@epic-events.test",
  "username": "anna", "department": "commercial", "password": "anna-chooses-a-long-one"}'
ANNA_ID=$(field .id)
login anna anna-chooses-a-long-one
ANNA=$token
call 200 valid "Anna reads /v1/me" "$API/v1/me" -H "Authorization: Bearer $ANNA"

echo "== the README's personal access token and calendar feed"
call 201 valid "Anna makes a token" "$API/v1/me/tokens" -H "Authorization: Bearer $ANNA" "${json[@]}" \
  -d '{"name": "nightly export", "scopes": ["client:read", "event:read"], "expires_in_days": 30}'
PAT=$(field .token)
PAT_ID=$(field .id)
call 200 valid "the token lists events" "$API/v1/events?commercial=me" -H "Authorization: Bearer $PAT"
call 200 valid "the token's permissions" "$API/v1/me" -H "Authorization: Bearer $PAT"
call 403 valid "a token cannot make tokens" "$API/v1/me/tokens" -H "Authorization: Bearer $PAT" "${json[@]}" \
  -d '{"name": "minted", "scopes": ["client:read"]}'
call 200 valid "Anna's tokens" "$API/v1/me/tokens" -H "Authorization: Bearer $ANNA"
call 200 valid "management lists Anna's tokens" "$API/v1/collaborators/$ANNA_ID/tokens" -H "Authorization: Bearer $TOKEN"
call 204 valid "Anna revokes it" -X DELETE "$API/v1/me/tokens/$PAT_ID" -H "Authorization: Bearer $ANNA"
call 401 valid "the revoked token" "$API/v1/events" -H "Authorization: Bearer $PAT"
call 201 valid "Anna makes a calendar feed" -X POST "$API/v1/me/calendar" -H "Authorization: Bearer $ANNA"
FEED_URL=$(field .url)
FEED_PATH="/calendar/${FEED_URL##*/calendar/}"
call 200 valid "Anna's feed status" "$API/v1/me/calendar" -H "Authorization: Bearer $ANNA"
call 200 valid "a calendar app reads the feed" "$API$FEED_PATH"
grep -q '^BEGIN:VCALENDAR' "$work/body" || fail "the feed is not a calendar"
FEED_ETAG=$(tr -d '\r' <"$work/headers" | sed -n 's/^etag: //Ip')
call 304 valid "and revalidates it" "$API$FEED_PATH" -H "If-None-Match: $FEED_ETAG"
call 204 valid "Anna ends the feed" -X DELETE "$API/v1/me/calendar" -H "Authorization: Bearer $ANNA"
call 404 valid "the ended feed" "$API$FEED_PATH"

echo "== the README's workflow"
MANAGER=$TOKEN
call 201 valid "create Bill (commercial)" "$API/v1/collaborators" -H "Authorization: Bearer $MANAGER" "${json[@]}" \
  -d '{"employee_number": 7, "first_name": "Bill", "last_name": "Boquet", "email": "bill@epic-events.test",
       "username": "bill", "department": "commercial", "password": "a-long-and-private-phrase"}'
BILL_ID=$(field .id)
call 201 valid "create Kate (support)" "$API/v1/collaborators" -H "Authorization: Bearer $MANAGER" "${json[@]}" \
  -d '{"employee_number": 42, "first_name": "Kate", "last_name": "Hastroff", "email": "kate@epic-events.test",
       "username": "kate", "department": "support", "password": "another-long-private-phrase"}'
KATE_ID=$(field .id)
call 200 valid "Bill logs in" "$API/v1/auth/login" "${json[@]}" \
  -d '{"username": "bill", "password": "a-long-and-private-phrase"}'
REFRESH=$(field .refresh_token)
call 200 valid "Bill refreshes his tokens" "$API/v1/auth/refresh" "${json[@]}" -d "{\"refresh_token\": \"$REFRESH\"}"
BILL=$(field .access_token)
key=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
client='{"full_name": "John Ouick", "email": "john.ouick@gmail.com", "phone": "+1 234 567 8901"}'
call 201 valid "Bill creates the client" "$API/v1/clients" -H "Authorization: Bearer $BILL" "${json[@]}" \
  -H "Idempotency-Key: $key" -d "$client"
CLIENT_ID=$(field .id)
call 201 valid "the same creation again replays its answer" "$API/v1/clients" -H "Authorization: Bearer $BILL" "${json[@]}" \
  -H "Idempotency-Key: $key" -d "$client"
call 201 valid "management drafts the contract" "$API/v1/contracts" -H "Authorization: Bearer $MANAGER" "${json[@]}" \
  -d "{\"client_id\": \"$CLIENT_ID\", \"total_amount\": \"15000.00\", \"amount_due\": \"5000.00\"}"
CONTRACT_ID=$(field .id)
call 200 valid "Bill has it signed" -X PATCH "$API/v1/contracts/$CONTRACT_ID" -H "Authorization: Bearer $BILL" "${json[@]}" \
  -H 'If-Match: "1"' -d '{"signed": true}'
call 201 valid "Bill books the wedding" "$API/v1/events" -H "Authorization: Bearer $BILL" "${json[@]}" \
  -d "{\"contract_id\": \"$CONTRACT_ID\", \"name\": \"John Ouick Wedding\",
       \"start_at\": \"2027-06-04T11:00:00Z\", \"end_at\": \"2027-06-05T00:00:00Z\",
       \"location\": \"53 Rue du Château, 41120 Candé-sur-Beuvron, France\", \"attendees\": 75,
       \"notes\": \"Wedding starts at 3PM, by the river.\"}"
EVENT_ID=$(field .id)
call 200 valid "Bill's events without support" "$API/v1/events?commercial=me&support=none&starts_after=2026-01-01T00:00:00Z&sort=start_at" \
  -H "Authorization: Bearer $BILL"
[ "$(field '.data | length')" = 1 ] || fail "the wedding is not among Bill's events without support"
call 200 valid "management assigns Kate" -X PATCH "$API/v1/events/$EVENT_ID" -H "Authorization: Bearer $MANAGER" "${json[@]}" \
  -d "{\"support_id\": \"$KATE_ID\"}"
login kate another-long-private-phrase
KATE=$token
call 200 valid "Kate updates her event" -X PATCH "$API/v1/events/$EVENT_ID" -H "Authorization: Bearer $KATE" "${json[@]}" \
  -d '{"attendees": 80, "notes": "Wedding starts at 3PM, by the river. Bring umbrellas."}'
call 200 valid "Kate's events" "$API/v1/events?support=me" -H "Authorization: Bearer $KATE"
[ "$(field '.data | length')" = 1 ] || fail "the wedding is not among Kate's events"
call 200 valid "Bill's events without support, once Kate runs the wedding" "$API/v1/events?commercial=me&support=none" \
  -H "Authorization: Bearer $BILL"
[ "$(field '.data | length')" = 0 ] || fail "Bill still has events without support"
call 200 valid "events Kate supports, by id" "$API/v1/events?support=$KATE_ID&client_id=$CLIENT_ID" -H "Authorization: Bearer $MANAGER"
call 200 valid "the event's history" "$API/v1/events/$EVENT_ID/history?limit=20" -H "Authorization: Bearer $MANAGER"
for what in "collaborators/$BILL_ID" "clients/$CLIENT_ID" "contracts/$CONTRACT_ID" "events/$EVENT_ID"; do
  call 200 valid "read $what" "$API/v1/$what" -H "Authorization: Bearer $MANAGER"
  call 200 valid "history of $what" "$API/v1/$what/history" -H "Authorization: Bearer $MANAGER"
done
call 200 valid "list collaborators" "$API/v1/collaborators?department=commercial&active=true&sort=-created_at&limit=1" \
  -H "Authorization: Bearer $MANAGER"
call 200 valid "next page of collaborators" "$API/v1/collaborators?department=commercial&active=true&sort=-created_at&limit=1&cursor=$(field .next_cursor)" \
  -H "Authorization: Bearer $MANAGER"
call 200 valid "Bill's clients" "$API/v1/clients?commercial=me&q=ouick&sort=full_name" -H "Authorization: Bearer $BILL"
call 200 valid "contracts of Bill, by id" "$API/v1/contracts?commercial=$BILL_ID&signed=true&fully_paid=false&sort=-amount_due" \
  -H "Authorization: Bearer $MANAGER"
call 200 valid "Bill records a call" -X PATCH "$API/v1/clients/$CLIENT_ID" -H "Authorization: Bearer $BILL" "${json[@]}" \
  -d '{"last_contact_at": "2026-11-30T10:00:00+01:00"}'
call 204 valid "Anna changes her password" -X PUT "$API/v1/me/password" -H "Authorization: Bearer $ANNA" "${json[@]}" \
  -d '{"current_password": "anna-chooses-a-long-one", "new_password": "anna-picks-another-long-one"}'
call 204 valid "management deletes Anna" -X DELETE "$API/v1/collaborators/$ANNA_ID" \
  -H "Authorization: Bearer $MANAGER"
call 200 valid "the change feed's first page" "$API/v1/changes?limit=5" -H "Authorization: Bearer $MANAGER"
[ "$(field '.data | length')" = 5 ] || fail "the change feed does not hold the walk-through's writes"
FEED_TAG=$(tr -d '\r' <"$work/headers" | sed -n 's/^etag: //Ip')
call 200 valid "the next page, events only, as a commercial" \
  "$API/v1/changes?types=event.created,event.updated&cursor=$(field .next_cursor)" -H "Authorization: Bearer $BILL"
call 304 valid "the first page again, not modified" "$API/v1/changes?limit=5" -H "Authorization: Bearer $MANAGER" \
  -H "If-None-Match: $FEED_TAG"
call 200 valid "the feed's head" "$API/v1/changes/head" -H "Authorization: Bearer $KATE"
call 200 valid "a long poll at the head answers an empty page" \
  "$API/v1/changes?wait=1&cursor=$(field .cursor)" -H "Authorization: Bearer $KATE"
call 410 valid "a cursor past the end" "$API/v1/changes?cursor=cDk5OTk5OTk5" -H "Authorization: Bearer $KATE"
call 200 valid "/healthz" "$API/healthz"
call 200 valid "/readyz" "$API/readyz"
call 200 valid "/metrics" "$API/metrics"
call 200 valid "/openapi.yaml" "$API/openapi.yaml"
call 200 valid "/docs" "$API/docs"
call 200 valid "/docs/docs.js" "$API/docs/docs.js"

echo "== error answers"
nobody=00000000-0000-4000-8000-000000000000
call 400 invalid "a body that is not JSON" "$API/v1/clients" -H "Authorization: Bearer $BILL" "${json[@]}" -d '{"full_name": '
call 400 valid "a garbled cursor" "$API/v1/clients?cursor=garbled" -H "Authorization: Bearer $BILL"
call 401 invalid "no access token" "$API/v1/me"
call 401 valid "a wrong password" "$API/v1/auth/login" "${json[@]}" -d '{"username": "kate", "password": "not-her-password"}'
call 403 valid "support may not create clients" "$API/v1/clients" -H "Authorization: Bearer $KATE" "${json[@]}" -d "$client"
call 403 valid "Bill may not reassign his client" -X PATCH "$API/v1/clients/$CLIENT_ID" -H "Authorization: Bearer $BILL" "${json[@]}" \
  -d "{\"commercial_id\": \"$BILL_ID\"}"
call 404 valid "no such client" "$API/v1/clients/$nobody" -H "Authorization: Bearer $MANAGER"
call 404 valid "no such event's history" "$API/v1/events/$nobody/history" -H "Authorization: Bearer $MANAGER"
# The document has no PUT on /v1/me, so Prism finds no operation to check
# the answer against (it says so as a request warning).
call 405 invalid "PUT /v1/me" -X PUT "$API/v1/me" -H "Authorization: Bearer $MANAGER"
call 409 valid "a username already taken" "$API/v1/collaborators" -H "Authorization: Bearer $MANAGER" "${json[@]}" \
  -d '{"employee_number": 8, "first_name": "Bill", "last_name": "Boquet", "email": "bill2@epic-events.test",
       "username": "bill", "department": "commercial", "password": "a-long-and-private-phrase"}'
call 409 valid "a signed contract's total" -X PATCH "$API/v1/contracts/$CONTRACT_ID" -H "Authorization: Bearer $MANAGER" "${json[@]}" \
  -d '{"total_amount": "16000.00"}'
call 409 valid "Bill still owns a client" -X DELETE "$API/v1/collaborators/$BILL_ID" -H "Authorization: Bearer $MANAGER"
call 412 valid "a stale If-Match" -X PATCH "$API/v1/events/$EVENT_ID" -H "Authorization: Bearer $MANAGER" "${json[@]}" \
  -H 'If-Match: "1"' -d '{"attendees": 90}'
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' a | sed 's/^/{"full_name": "/; s/$/"}/' >"$work/big.json"
call 413 invalid "a body over 1 MiB" "$API/v1/clients" -H "Authorization: Bearer $BILL" "${json[@]}" --data-binary @"$work/big.json"
call 415 invalid "a body that is not sent as JSON" "$API/v1/clients" -H "Authorization: Bearer $BILL" -H 'Content-Type: text/plain' -d "$client"
call 422 invalid "an unknown field" "$API/v1/clients" -H "Authorization: Bearer $BILL" "${json[@]}" \
  -d '{"full_name": "Ann", "email": "ann@startup.io", "phone": "+1 234 567 8901", "vip": true}'
call 422 invalid "a support filter of the wrong form" "$API/v1/events?support=nobody" -H "Authorization: Bearer $MANAGER"
call 422 valid "an Idempotency-Key reused with another body" "$API/v1/clients" -H "Authorization: Bearer $BILL" "${json[@]}" \
  -H "Idempotency-Key: $key" -d '{"full_name": "Jane Ouick", "email": "jane.ouick@gmail.com", "phone": "+1 234 567 8902"}'
call 422 valid "a wrong current password" -X PUT "$API/v1/me/password" -H "Authorization: Bearer $KATE" "${json[@]}" \
  -d '{"current_password": "not-her-password", "new_password": "kate-picks-a-long-new-one"}'
call 429 valid "Kate's account is locked after failures" "$API/v1/auth/login" "${json[@]}" \
  -d '{"username": "kate", "password": "another-long-private-phrase"}'
call 204 valid "Bill logs out" -X POST "$API/v1/auth/logout" -H "Authorization: Bearer $BILL"
call 401 valid "a refresh token used twice" "$API/v1/auth/refresh" "${json[@]}" -d "{\"refresh_token\": \"$REFRESH\"}"

echo "prism-check: $exchanges exchanges through prism $prism_version, $broken broke openapi.yaml"
[ "$broken" = 0 ] || { grep -F 'Violation' "$work/prism.log" | tail -n 40 >&2 || true; exit 1; }
