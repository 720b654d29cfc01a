#!/usr/bin/env bash
# CI's container step: the image and the Compose stack, run for real on
# podman (deploy/compose-test.sh). On a fresh machine it installs podman
# and its helpers from Debian by package name, builds Docker Compose as a
# pinned `go tool` (tools/compose/go.mod) and the stand-ins of the images
# no registry here serves (deploy/standins); a second run on the same
# machine reuses all three (APT, Go's build cache, the stand-in images).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(podman runc netavark aardvark-dns iptables mmdebstrap curl jq openssl)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Other jobs on the machine may hold dpkg's lock for a while.
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# What podman needs on these machines, in a configuration of its own:
# - runc: crun refuses their hybrid cgroup v1/v2 layout;
# - rlimits: raising them is not permitted, and podman's defaults would;
#   nofile is the hard limit, nproc too but at most kernel.pid_max (runc
#   is refused any higher value here);
# - cgroupfs and a file event log: there is no systemd;
# - netavark, for the fixed address of the Compose network's proxy.
conf_dir=/run/epic-events-ci
mkdir -p "$conf_dir"
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
pid_max=$(cat /proc/sys/kernel/pid_max)
if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ]; then nproc=$pid_max; fi
if [ "$nofile" = unlimited ]; then nofile=1048576; fi
cat >"$conf_dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
EOF
export CONTAINERS_CONF=$conf_dir/containers.conf

# Compose compiles (minutes on a fresh machine, cached by Go after) while
# the stand-ins are built (mostly package downloads and dpkg).
started=$SECONDS
go tool -modfile=tools/compose/go.mod -n github.com/docker/compose/v2/cmd \
	>"$conf_dir/compose-path" 2>"$conf_dir/compose-build.log" &
compose_pid=$!
trap 'kill "$compose_pid" 2>/dev/null || true' EXIT
bash deploy/standins/build.sh
echo "stand-in images ready in $((SECONDS - started)) s"
if ! wait "$compose_pid"; then
	cat "$conf_dir/compose-build.log"
	echo "Docker Compose (tools/compose/go.mod) does not build"
	exit 1
fi
compose=$(cat "$conf_dir/compose-path")
echo "Docker Compose (tools/compose/go.mod) ready in $((SECONDS - started)) s"

COMPOSE=$compose bash deploy/compose-test.sh
