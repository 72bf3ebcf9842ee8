#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked, throw-away gnome-keyring,
# so keytar talks to a real Secret Service without touching the user's own keyring.
set -euo pipefail
if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
  echo "with-keyring: needs dbus-run-session and gnome-keyring-daemon (apt-get install -y dbus gnome-keyring libsecret-1-dev)" >&2
  exit 3
fi
export XDG_DATA_HOME="$(mktemp -d -t vkey-keyring-XXXXXX)"
export VKEY_KEYRING_DIR="$XDG_DATA_HOME"
trap 'rm -rf "$XDG_DATA_HOME"' EXIT
# A fixed password: an empty one makes gnome-keyring ask for one through a GUI prompt.
# Not `exec`: the EXIT trap above must still run to remove the throw-away keyring folder.
dbus-run-session -- bash -c 'printf vkey-test-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec "$@"' bash "$@" 2> >(grep -v "Failed to set fd limit" >&2)
