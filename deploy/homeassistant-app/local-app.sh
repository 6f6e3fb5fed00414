#!/usr/bin/env bash
# Assembles the DataCenter Assistant app in DEST (for example the Samba/SSH share /addons/
# datacenter_assistant of Home Assistant OS): the app's files plus the committed workspace under
# workspace/, which its Dockerfile builds. Then Settings → Apps → App store → ⋮ → Check for
# updates shows it under "Local apps".
#
#   deploy/homeassistant-app/local-app.sh /addons/datacenter_assistant
set -euo pipefail
DEST=${1:?usage: local-app.sh DEST}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(git -C "$HERE" rev-parse --show-toplevel)
mkdir -p "$DEST/workspace"
cp -r "$HERE/datacenter_assistant/." "$DEST/"
# Only what git tracks: no target/, no local state.
git -C "$ROOT" archive --format=tar HEAD Cargo.toml Cargo.lock crates tests docs deploy | tar -x -C "$DEST/workspace"
echo "app assembled in $DEST"
