#!/usr/bin/env bash
# Builds local stand-ins for the three images docker-compose.yml and the
# Dockerfile name (golang:1.26, postgres:18-alpine, caddy:2-alpine) from
# Debian's archive, for machines that reach no container registry. Each
# Containerfile says how its image differs from the real one.
#
# The root file systems come from mmdebstrap with the host's own APT
# sources; an image is rebuilt only when its inputs (this script, its
# directory, and for golang the host's Go version and settings) changed, so
# a second run on the same machine takes seconds. Needs root and podman.
set -euo pipefail
cd "$(dirname "$0")"
podman=${PODMAN:-podman}

sources=
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
	if [ -s "$f" ] && grep -q '^[^#]' "$f"; then sources=$f; break; fi
done
if [ -z "$sources" ]; then echo "build.sh: no APT sources on this host" >&2; exit 1; fi
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")

ctx=
trap 'if [ -n "$ctx" ]; then rm -rf "$ctx"; fi' EXIT

# name tag packages extra-inputs
build() {
	local name=$1 tag=$2 packages=$3 extra=$4
	local ref="docker.io/library/$name:$tag"
	local hash
	hash=$( { cat build.sh; tar -c --sort=name --mtime=@0 --owner=0 --group=0 "$name"; echo "$suite $extra"; } | sha256sum | cut -c1-16)
	if [ "$("$podman" image inspect --format '{{index .Labels "epicevents.standin"}}' "$ref" 2>/dev/null)" = "$hash" ]; then
		echo "stand-in $name:$tag is up to date"
		return
	fi
	echo "building stand-in $name:$tag from Debian $suite ($packages)"
	ctx=$(mktemp -d /var/tmp/epic-events-standin.XXXXXX)
	mmdebstrap --quiet --variant=minbase --include="$packages" \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
		"$suite" "$ctx/rootfs.tar" "$sources"
	cp -a "$name"/. "$ctx"/
	local args=()
	if [ "$name" = golang ]; then
		cp -a "$(go env GOROOT)" "$ctx/go"
		cp -L "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$ctx/ca-certificates.crt"
		args=(--build-arg "GOPROXY=$(go env GOPROXY)" --build-arg "GOSUMDB=$(go env GOSUMDB)"
			--build-arg "GOFLAGS=$(go env GOFLAGS)")
	fi
	"$podman" build --quiet --format docker --label "epicevents.standin=$hash" "${args[@]}" \
		-t "$ref" -f "$ctx/Containerfile" "$ctx" >/dev/null
	rm -rf "$ctx"
	echo "built $ref"
}

gover=$(go env GOVERSION)
case "$gover" in
go1.26*) ;;
*) echo "build.sh: the host's Go is $gover; the golang:1.26 stand-in needs go1.26" >&2; exit 1 ;;
esac
build golang 1.26 ca-certificates "$gover $(go env GOROOT GOPROXY GOSUMDB GOFLAGS | tr '\n' ' ') $(sha256sum <"${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}")"
build postgres 18-alpine postgresql,util-linux ""
build caddy 2-alpine caddy,ca-certificates ""
