#!/usr/bin/env bash
# Builds local stand-ins for the three images docker-compose.yml and the
# Dockerfile name (golang:1.26, postgres:18-alpine, caddy:2-alpine) from
# Debian's archive, for machines that reach no container registry. Each
# Containerfile says how its image differs from the real one.
#
# The root file system comes from mmdebstrap with the host's own APT
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

tmp=$(mktemp -d /var/tmp/epic-events-standins.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# One root file system serves the three stand-ins (one package download
# and one dpkg run instead of three): Debian minbase with what any of them
# needs.
packages=ca-certificates,postgresql,util-linux,caddy
rootfs() {
	if [ ! -s "$tmp/rootfs.tar" ]; then
		echo "root file system from Debian $suite ($packages)"
		mmdebstrap --quiet --variant=minbase --include="$packages" \
			--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
			--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt=force-unsafe-io \
			--aptopt='Acquire::Languages "none"' \
			--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
			"$suite" "$tmp/rootfs.tar" "$sources"
	fi
}

# name tag extra-inputs
build() {
	local name=$1 tag=$2 extra=$3
	local ref="docker.io/library/$name:$tag"
	local hash
	hash=$( { cat build.sh; tar -c --sort=name --mtime=@0 --owner=0 --group=0 "$name"; echo "$suite $extra"; } | sha256sum | cut -c1-16)
	if [ "$("$podman" image inspect --format '{{index .Labels "epicevents.standin"}}' "$ref" 2>/dev/null)" = "$hash" ]; then
		echo "stand-in $name:$tag is up to date"
		return
	fi
	rootfs
	echo "building stand-in $name:$tag"
	local ctx=$tmp/$name
	mkdir "$ctx"
	cp -a "$name"/. "$ctx"/
	ln "$tmp/rootfs.tar" "$ctx/rootfs.tar"
	local args=()
	if [ "$name" = golang ]; then
		cp -a "$(go env GOROOT)" "$ctx/go"
		cp -L "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$ctx/ca-certificates.crt"
		args=(--build-arg "GOPROXY=$(go env GOPROXY)" --build-arg "GOSUMDB=$(go env GOSUMDB)"
			--build-arg "GOFLAGS=$(go env GOFLAGS)")
	fi
	local old
	old=$("$podman" image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
	"$podman" build --quiet --format docker --label "epicevents.standin=$hash" "${args[@]}" \
		-t "$ref" -f "$ctx/Containerfile" "$ctx" >/dev/null
	rm -rf "$ctx"
	# The image this one replaces, unless a container still uses it.
	if [ -n "$old" ]; then "$podman" rmi "$old" >/dev/null 2>&1 || true; fi
	echo "built $ref"
}

gover=$(go env GOVERSION)
case "$gover" in
go1.26*) ;;
*) echo "build.sh: the host's Go is $gover; the golang:1.26 stand-in needs go1.26" >&2; exit 1 ;;
esac
build golang 1.26 "$gover $(go env GOROOT GOPROXY GOSUMDB GOFLAGS | tr '\n' ' ') $(sha256sum <"${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}")"
build postgres 18-alpine ""
build caddy 2-alpine ""
