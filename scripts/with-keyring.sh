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
# The session bus looks for services in $XDG_DATA_HOME first: there, the accessibility bus
# fails at once. Chromium asks for it at every launch, and its launcher would outlive the
# session by minutes (a process left behind by every e2e file).
mkdir -p "$XDG_DATA_HOME/dbus-1/services"
printf '[D-BUS Service]\nName=org.a11y.Bus\nExec=/bin/false\n' >"$XDG_DATA_HOME/dbus-1/services/org.a11y.Bus.service"
# A fixed password: an empty one makes gnome-keyring ask for one through a GUI prompt.
# Not `exec`: the shell must outlive the command for the EXIT trap to remove the keyring folder.
dbus-run-session -- bash -c 'printf vkey-test-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec "$@"' bash "$@" 2> >(grep -v "Failed to set fd limit" >&2)
