#!/usr/bin/env bash
# Make sure the Debian packages pinmm builds with are installed. As root, install the missing
# ones; otherwise name the exact command to run and fail.
set -euo pipefail

packages=(gcc g++ make pkg-config liburcu-dev libcmocka-dev libdw-dev)
missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "pinmm: installing missing packages: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
	exit 0
fi
echo "pinmm: missing packages; run: sudo apt-get install -y ${missing[*]}" >&2
exit 1
