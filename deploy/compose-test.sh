#!/usr/bin/env bash
# Runs the operations path for real, on podman (its Docker API served by
# `podman system service`) driven by Docker Compose v2: builds the image
# from the Dockerfile and checks it, brings the stack up with secrets from
# deploy/make-secrets.sh, runs the README's walk-through, kills the API,
# checks that down/up keeps the data, runs the scaled profile under a
# bounded load while a replica stops and another is killed, checks login
# throttling through the proxy and a lost database, then removes
# everything it created, by name, also when a check fails.
#
#   COMPOSE     the Compose command (default: docker-compose when on PATH,
#               else "docker compose")
#   API_PORT    host port of the api service (default 18080)
#   PROXY_PORT  host port of the scaled profile's proxy (default 18000)
#
# Needs root, podman (with runc and netavark; see .ci/compose-check.sh for
# the containers.conf these machines need), curl, jq and openssl, and the
# images golang:1.26, postgres:18-alpine and caddy:2-alpine (real ones, or
# the stand-ins of deploy/standins). It works on a copy of the repository's
# files (so ./secrets is not touched), as Compose project epic-events-ci.
# Every request goes to 127.0.0.1, in bounded loops. Without systemd podman
# schedules no health checks, so this script runs `podman healthcheck run`
# for each container at its interval.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

project=epic-events-ci
export VERSION=ci
image=epic-events-api:$VERSION
export API_PORT=${API_PORT:-18080} PROXY_PORT=${PROXY_PORT:-18000}
api=http://127.0.0.1:$API_PORT
proxy=http://127.0.0.1:$PROXY_PORT
if [ -n "${COMPOSE:-}" ]; then
	read -r -a compose_cmd <<<"$COMPOSE"
elif command -v docker-compose >/dev/null; then
	compose_cmd=(docker-compose)
else
	compose_cmd=(docker compose)
fi

started=$SECONDS
step() { printf -- '-- %s (%ds)\n' "$*" $((SECONDS - started)); }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# One run at a time on a machine: the names, ports and subnet are fixed.
mkdir -p /run/lock
exec 9>/run/lock/epic-events-compose-test.lock
flock -w 900 9 || fail "another compose test holds /run/lock/epic-events-compose-test.lock"

work=$(mktemp -d /var/tmp/epic-events-compose-test.XXXXXX)
src=$work/src
service_pid=
checks_pid=

compose() { "${compose_cmd[@]}" -p "$project" --project-directory "$src" -f "$src/docker-compose.yml" "$@"; }

# remove_by_name removes what this script creates, whether or not Compose
# still knows about it.
remove_by_name() {
	local ids
	ids=$(podman ps -aq --filter "label=com.docker.compose.project=$project" 2>/dev/null || true)
	if [ -n "$ids" ]; then podman rm -f -t 0 $ids >/dev/null 2>&1 || true; fi
	podman network rm -f "${project}_backend" >/dev/null 2>&1 || true
	podman volume rm -f "${project}_pgdata" >/dev/null 2>&1 || true
}

teardown() {
	local status=$?
	set +e
	if [ "$status" -ne 0 ] && [ -n "$service_pid" ]; then
		echo "== state at the failure"
		compose --profile scaled ps -a
		# No secret value reaches the log, whatever a container printed.
		local hide=()
		for f in "$src"/secrets/*; do if [ -s "$f" ]; then hide+=(-f "$f"); fi; done
		compose --profile scaled logs --no-color --tail 30 2>&1 |
			if [ "${#hide[@]}" -gt 0 ]; then grep -v -F "${hide[@]}"; else cat; fi
	fi
	if [ -n "$service_pid" ]; then
		compose --profile scaled down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1
	fi
	remove_by_name
	podman rmi -f "$image" >/dev/null 2>&1
	# The build's intermediate images stay a day as a cache for the next
	# run (the Go caches live in the build's cache mounts anyway).
	podman image prune -f --filter until=24h >/dev/null 2>&1
	if [ -n "$checks_pid" ]; then kill "$checks_pid" 2>/dev/null; wait "$checks_pid" 2>/dev/null; fi
	if [ -n "$service_pid" ]; then kill "$service_pid" 2>/dev/null; wait "$service_pid" 2>/dev/null; fi
	rm -rf "$work"
	if [ "$status" -eq 0 ]; then
		echo "compose test passed in $((SECONDS - started)) s"
	else
		echo "compose test FAILED (status $status) after $((SECONDS - started)) s" >&2
	fi
	exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS WHAT COMMAND...: runs COMMAND every second until it
# succeeds, or fails the test.
wait_for() {
	local limit=$1 what=$2
	shift 2
	local deadline=$((SECONDS + limit))
	until "$@"; do
		if [ "$SECONDS" -ge "$deadline" ]; then fail "$what, not within ${limit} s"; fi
		sleep 1
	done
}
container() { echo "$project-$1-1"; }
is_healthy() { [ "$(podman inspect --format '{{.State.Health.Status}}' "$(container "$1")" 2>/dev/null)" = healthy ]; }
status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" || true; }
answers() { [ "$(status_of "$1" "${@:3}")" = "$2" ]; } # URL, status, curl options

step "leftovers of an earlier run"
remove_by_name

step "a copy of the repository's files"
mkdir -p "$src"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
		tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$src" -xf -
else
	tar -C "$repo" --exclude=./.git --exclude=./secrets --exclude=./.data -cf - . | tar -C "$src" -xf -
fi

step "the Docker API (podman system service)"
sock=$work/podman.sock
podman system service --time=0 "unix://$sock" >"$work/podman-service.log" 2>&1 &
service_pid=$!
export DOCKER_HOST=unix://$sock DOCKER_BUILDKIT=0
wait_for 30 "podman's Docker API answers" curl -sf --unix-socket "$sock" http://podman/_ping -o /dev/null

# Health checks at each container's interval, for service_healthy and for
# the image's HEALTHCHECK.
(
	declare -A next=()
	while sleep 1; do
		now=$SECONDS
		for id in $(podman ps -q --filter "label=com.docker.compose.project=$project" 2>/dev/null); do
			if [ "${next[$id]:-0}" -gt "$now" ]; then continue; fi
			interval=$(podman inspect --format '{{if .Config.Healthcheck}}{{.Config.Healthcheck.Interval.Seconds}}{{end}}' "$id" 2>/dev/null || true)
			interval=${interval%%.*}
			if [ -z "$interval" ]; then next[$id]=$((now + 3600)); continue; fi
			podman healthcheck run "$id" >/dev/null 2>&1 || true
			next[$id]=$((now + (interval > 0 ? interval : 30)))
		done
	done
) &
checks_pid=$!

step "build the image (compose build: the Dockerfile, VERSION=$VERSION)"
build_started=$SECONDS
compose build api >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; fail "the image does not build"; }
echo "built in $((SECONDS - build_started)) s"

step "the image: non-root, no shell, a health check"
user=$(podman image inspect --format '{{.Config.User}}' "$image")
case "${user%%:*}" in
"" | 0 | root) fail "the image runs as '$user'" ;;
esac
mnt=$(podman image mount "$image")
files=$(cd "$mnt" && find . ! -type d | sort | tr '\n' ' ')
podman image unmount "$image" >/dev/null
if [ "$files" != "./api ./etc/ssl/certs/ca-certificates.crt " ]; then
	fail "the image holds more than the binary and the CA certificates: $files"
fi
healthcheck=$(podman image inspect --format '{{json .Config.Healthcheck.Test}}' "$image")
[ "$healthcheck" = '["CMD","/api","healthcheck"]' ] || fail "the image's health check is $healthcheck"
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "user $user, files: $files, health check $healthcheck, $((size / 1000000)) MB"

step "secrets (deploy/make-secrets.sh) and the stack (compose up)"
(cd "$src" && sh deploy/make-secrets.sh)
password=$(cat "$src/secrets/bootstrap_manager_password")
compose up -d --no-build >"$work/up.log" 2>&1 || { cat "$work/up.log"; fail "compose up"; }
wait_for 120 "the database is healthy" is_healthy db
wait_for 120 "the API is healthy" is_healthy api
for s in db_password jwt_secret secrets_key bootstrap_manager_password; do
	if podman inspect "$(container api)" "$(container db)" | grep -q -F -f "$src/secrets/$s"; then
		fail "secret $s shows in the containers' configuration"
	fi
done
podman exec "$(container db)" test -s /run/secrets/db_password || fail "the database has no /run/secrets/db_password"

step "the README's walk-through, on the published port"
readme_block() { # heading, index: the index-th sh block after the heading
	awk -v h="$1" -v n="$2" '
		$0 == h { f = 1; next }
		f && !p && /^#/ { exit }
		f && /^```sh$/ { i++; if (i == n) { p = 1; next } }
		p && /^```$/ { exit }
		p { print }' "$src/README.md"
}
{
	echo 'set -euo pipefail'
	echo 'curl() { command curl --fail-with-body --max-time 10 "$@"; }'
	readme_block '### Run it with Docker Compose' 2
	readme_block '## Walk-through with curl' 1
	readme_block '### The workflow with curl' 1
} | sed -e "s#http://localhost:8080#$api#g" -e "s#localhost:8080#$api#g" \
	-e "s#\"password\": \"<printed password>\"#\"password\": \"$password\"#" \
	-e "s#\"password\": \"…\"#\"password\": \"$password\"#" >"$work/walkthrough.sh"
if grep -n -e localhost -e '<printed password>' -e '"…"' "$work/walkthrough.sh"; then
	fail "the walk-through has placeholders this script does not fill"
fi
[ "$(grep -c 'curl ' "$work/walkthrough.sh")" -ge 15 ] || fail "the README's walk-through blocks were not found"
(cd "$src" && bash "$work/walkthrough.sh") >"$work/walkthrough.out" 2>&1 || {
	grep -v -e token "$work/walkthrough.out" | tail -n 20
	fail "the walk-through"
}
[ "$(tail -n 1 "$work/walkthrough.out")" = 204 ] || fail "the walk-through did not end with a 204 logout"
grep -q '"username":"anna"' "$work/walkthrough.out" || fail "GET /v1/me did not show anna"
echo "$(grep -c 'curl ' "$work/walkthrough.sh") curl commands passed"

login() { # base URL, username, password -> access token
	curl -sf --max-time 10 "$1/v1/auth/login" -H 'Content-Type: application/json' \
		-d "{\"username\": \"$2\", \"password\": \"$3\"}" | jq -r .access_token
}

step "a killed API restarts"
restarts=$(podman inspect --format '{{.RestartCount}}' "$(container api)")
kill -KILL "$(podman inspect --format '{{.State.Pid}}' "$(container api)")"
restarted() { [ "$(podman inspect --format '{{.RestartCount}}' "$(container api)")" -gt "$restarts" ] && answers "$api/readyz" 200; }
killed_at=$SECONDS
wait_for 60 "the killed API restarts and is ready" restarted
echo "ready again after $((SECONDS - killed_at)) s"

step "down and up keep the data"
compose down --timeout 30 >/dev/null 2>&1
if [ -n "$(podman ps -aq --filter "label=com.docker.compose.project=$project")" ]; then fail "containers left after down"; fi
podman volume exists "${project}_pgdata" || fail "down removed the data volume"
compose up -d --no-build >"$work/up.log" 2>&1 || { cat "$work/up.log"; fail "compose up after down"; }
wait_for 120 "the API is healthy after up" is_healthy api
bill=$(login "$api" bill a-long-and-private-phrase)
[ -n "$bill" ] && [ "$bill" != null ] || fail "bill (from the walk-through) cannot log in after down/up"
[ "$(curl -sf "$api/v1/clients?limit=10" -H "Authorization: Bearer $bill" | jq -r '.data[].full_name')" = "John Ouick" ] ||
	fail "the walk-through's client is gone after down/up"

step "the scaled profile: three replicas behind the proxy"
compose --profile scaled up -d --no-build >"$work/up.log" 2>&1 || { cat "$work/up.log"; fail "compose --profile scaled up"; }
for s in api api-2 api-3; do wait_for 120 "$s is healthy" is_healthy "$s"; done
wait_for 60 "the proxy answers" answers "$proxy/readyz" 200
ip_of() { podman inspect --format "{{(index .NetworkSettings.Networks \"${project}_backend\").IPAddress}}" "$(container "$1")"; }
[ "$(ip_of proxy)" = 172.28.5.10 ] || fail "the proxy is at $(ip_of proxy)"
for s in db api api-2 api-3; do
	ip=$(ip_of "$s")
	if [ "${ip%.*}" != 172.28.5 ] || [ "${ip##*.}" -lt 128 ]; then fail "$s got $ip, outside the network's ip_range"; fi
done
healthz_count() { podman logs "$(container "$1")" 2>/dev/null | grep -c '"route":"/healthz"' || true; }
# The proxy's own health checks (every 2 s) may have seen a replica before
# it was ready, or before its name resolved: wait until a few requests
# through the proxy reach each of the three.
reaches_all() {
	local s
	declare -A was=()
	for s in api api-2 api-3; do was[$s]=$(healthz_count "$s"); done
	for _ in $(seq 1 9); do status_of "$proxy/healthz" >/dev/null; done
	for s in api api-2 api-3; do [ "$(healthz_count "$s")" -gt "${was[$s]}" ] || return 1; done
}
wait_for 60 "the proxy sends to every replica" reaches_all
declare -A before=()
for s in api api-2 api-3; do before[$s]=$(healthz_count "$s"); done
for _ in $(seq 1 60); do [ "$(status_of "$proxy/healthz")" = 200 ] || fail "GET /healthz through the proxy"; done
split=
for s in api api-2 api-3; do split="$split $s=$(($(healthz_count "$s") - ${before[$s]}))"; done
echo "60 requests through the proxy:$split"
# Round-robin gives 20 each; a replica briefly out of rotation on a busy
# machine shifts a few, not more.
for s in api api-2 api-3; do
	n=$(($(healthz_count "$s") - ${before[$s]}))
	if [ "$n" -lt 15 ] || [ "$n" -gt 25 ]; then fail "the proxy does not split round-robin:$split"; fi
done

# load N FILE: N authenticated reads through the proxy, one at a time; the
# status of each goes to FILE.
bill=$(login "$proxy" bill a-long-and-private-phrase)
load() {
	for _ in $(seq 1 "$1"); do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 "$proxy/v1/clients?limit=1" -H "Authorization: Bearer $bill" || true # -w says 000 when there is no answer
	done >"$2"
}
check_load() { # file, what
	local total failed
	total=$(wc -l <"$1")
	failed=$(grep -vc '^200$' "$1" || true)
	echo "$2: $failed failed of $total requests"
	[ "$failed" -eq 0 ] || fail "$2: $failed requests failed ($(sort "$1" | uniq -c | tr '\n' ' '))"
}

step "a replica stops (SIGTERM, drained) under load"
load 300 "$work/load-stop" &
load_pid=$!
sleep 2
compose stop api-2 >/dev/null 2>&1
wait "$load_pid"
check_load "$work/load-stop" "api-2 stopped"
compose start api-2 >/dev/null 2>&1
wait_for 120 "api-2 is healthy again" is_healthy api-2

step "a replica is killed (SIGKILL) under load"
load 300 "$work/load-kill" &
load_pid=$!
sleep 2
kill -KILL "$(podman inspect --format '{{.State.Pid}}' "$(container api-3)")"
wait "$load_pid"
check_load "$work/load-kill" "api-3 killed"
wait_for 120 "the killed api-3 is healthy again" is_healthy api-3

step "login throttling sees the client's address through the proxy (TRUSTED_PROXIES)"
# Five failures through the proxy, each claiming another address: the proxy
# replaces X-Forwarded-For, and the replicas trust only the proxy's entry.
for i in 1 2 3 4 5; do
	code=$(status_of "$proxy/v1/auth/login" -H 'Content-Type: application/json' -H "X-Forwarded-For: 198.51.100.$i" \
		-d '{"username": "anna", "password": "not-her-password-at-all"}')
	[ "$code" = 401 ] || fail "failed login $i through the proxy answered $code"
done
code=$(status_of "$proxy/v1/auth/login" -H 'Content-Type: application/json' \
	-d '{"username": "anna", "password": "anna-chooses-a-long-one"}')
[ "$code" = 429 ] || fail "after 5 failures through the proxy, the right password answered $code, want 429"
# The same client, straight to the api service: the replicas counted the
# failures against this client's address, not against the proxy's. (Both
# the proxy and the api service see this host's connections to their
# published ports come from the network's gateway.)
code=$(status_of "$api/v1/auth/login" -H 'Content-Type: application/json' \
	-d '{"username": "anna", "password": "anna-chooses-a-long-one"}')
[ "$code" = 429 ] || fail "the same client, not through the proxy, answered $code, want 429 (are the failures counted against the proxy?)"
echo "locked out through the proxy and directly: the client's address, not the proxy's"

step "the database stops: 503 with Retry-After, back within seconds"
compose stop db >/dev/null 2>&1
headers=$(curl -s -D - -o /dev/null --max-time 10 -w 'time %{time_total}\n' "$api/v1/clients?limit=1" -H "Authorization: Bearer $bill")
grep -q '^HTTP/1.1 503' <<<"$headers" || fail "without the database: $(head -n 1 <<<"$headers")"
grep -qi '^Retry-After: [0-9]' <<<"$headers" || fail "the 503 has no Retry-After"
echo "503 with Retry-After in $(grep '^time' <<<"$headers" | cut -d' ' -f2) s"
answers "$api/readyz" 503 || fail "/readyz is not 503 without the database"
if podman healthcheck run "$(container api)" >/dev/null 2>&1; then fail "the image's health check passes without the database"; fi
compose start db >/dev/null 2>&1
db_started=$SECONDS
wait_for 60 "the API serves again once the database is back" answers "$api/v1/clients?limit=1" 200 -H "Authorization: Bearer $bill"
echo "serving again $((SECONDS - db_started)) s after the database started"
[ $((SECONDS - db_started)) -le 20 ] || fail "the API took more than 20 s to serve again"

step "the README's down removes the scaled stack"
down=$(grep -o 'docker compose --profile scaled down' "$src/README.md" | head -n 1)
[ -n "$down" ] || fail "the README does not say how to stop the scaled profile"
compose --profile scaled down --timeout 30 >/dev/null 2>&1
if [ -n "$(podman ps -aq --filter "label=com.docker.compose.project=$project")" ]; then fail "containers left after $down"; fi
if podman network exists "${project}_backend"; then fail "the network is left after $down"; fi
