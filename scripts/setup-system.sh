#!/usr/bin/env bash
# Checks the Debian/Ubuntu packages in scripts/system-packages.txt and installs the
# missing ones when it can (as root, or with sudo that needs no password); otherwise it
# stops at once with the one command that installs them.
#   scripts/setup-system.sh [build|test]     build: only what `npm ci` needs; test (default): all
# VKEY_SYSTEM_PACKAGES=FILE reads another list (the tests use it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
group="${1:-test}"
list="${VKEY_SYSTEM_PACKAGES:-$here/system-packages.txt}"
case "$group" in build|test) ;; *) echo "setup-system: unknown group \"$group\" (use build or test)" >&2; exit 2 ;; esac

wanted=()
while read -r line_group package _; do
  [[ -z "${line_group:-}" || "$line_group" == \#* ]] && continue
  if [[ "$group" == test || "$line_group" == build ]]; then wanted+=("$package"); fi
done <"$list"

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup-system: not a Debian/Ubuntu system (no dpkg-query); make sure these are installed: ${wanted[*]}" >&2
  exit 0
fi

missing=()
for package in "${wanted[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null || true)"
  [[ "$status" == ii* ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

install=(apt-get install -y --no-install-recommends "${missing[@]}")
if [[ "$(id -u)" -eq 0 ]]; then
  as=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as=(sudo -n)
else
  if command -v sudo >/dev/null 2>&1; then line="sudo apt-get update && sudo ${install[*]}"
  else line="su -c 'apt-get update && ${install[*]}'"; fi
  echo "setup-system: missing Debian packages: ${missing[*]}. Install them with:  $line" >&2
  exit 1
fi
echo "setup-system: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as[@]}" apt-get update -qq
"${as[@]}" "${install[@]}" -qq >/dev/null
