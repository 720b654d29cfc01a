#!/bin/sh
# Creates the secret files docker-compose.yml mounts, with random values.
# An existing file is kept: rotating a secret is a deliberate act (see
# the README, "Operations"). Nothing is printed but file names.
set -eu
cd "$(dirname "$0")/.."
umask 077
mkdir -p secrets
# Only the owner may enter the directory on the host; the files themselves
# are world-readable so that the containers' unprivileged users can read
# the copies mounted at /run/secrets.
chmod 700 secrets

make_secret() { # name, random bytes
	file="secrets/$1"
	if [ -s "$file" ]; then
		echo "kept    $file"
		return
	fi
	# URL-safe base64 without padding or newline.
	head -c "$2" /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_' >"$file"
	chmod 644 "$file"
	echo "created $file"
}

make_secret db_password 24
make_secret jwt_secret 48
# SECRETS_KEY: the base64 of exactly 32 bytes.
make_secret secrets_key 32
make_secret bootstrap_manager_password 18
