#!/usr/bin/env bash
# tests/run.sh — the test command: installs what the tests need, then runs every test.
#
#   tests/run.sh                 # from the repository root (or anywhere)
#
# - Mosquitto (+ mosquitto-clients) from the distribution when `mosquitto` is missing: the
#   end-to-end tests run the real bridge against a real broker (without it they fall back to
#   the embedded rumqttd broker and say so).
# - The Home Assistant harness (../shared/ha-harness/install.sh) when it is there, in both
#   releases it offers: 2025.4 and today's (HA_FLAVOUR=current, which needs root; without root
#   that release's test is skipped and this script says so). The `home_assistant::` tests run
#   a real Home Assistant. Without the harness (a clone of this repository alone) those tests
#   are skipped, and this script says so; every other test needs nothing outside the
#   repository (the VCF OpenAPI specs are vendored in tests/data/vcf-api/).
# - A Python virtual environment with the vendor's official SDK (tests/sdk/requirements.txt) at
#   $DCA_SDK_VENV (default target/sdk-venv), for the `vendor_sdk::` tests; python3-venv from the
#   distribution when `python3 -m venv` does not work. pip runs only when the pins are not
#   already satisfied.
# - jq from the distribution when missing (the Home Assistant app's entrypoint, ha_app:: tests).
# - One build of every target (dev profile), then `cargo nextest run --workspace` (or
#   `cargo test --workspace` without nextest), then the doctests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
  if command -v apt-get >/dev/null; then
    step "installing mosquitto and mosquitto-clients"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y mosquitto mosquitto-clients \
      || { as_root apt-get update && as_root apt-get install -y mosquitto mosquitto-clients; }
  else
    echo "note: mosquitto is not installed and apt-get is unavailable; the tests use the embedded broker"
  fi
fi

# jq: the Home Assistant app's entrypoint (deploy/homeassistant-app) maps its options with it, and
# the ha_app:: tests run that entrypoint.
if ! command -v jq >/dev/null; then
  if command -v apt-get >/dev/null; then
    step "installing jq"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y jq || { as_root apt-get update && as_root apt-get install -y jq; }
  else
    echo "note: jq is not installed and apt-get is unavailable; the ha_app:: tests will fail"
  fi
fi

# The official Python SDK (vmware-sddc-manager) for the vendor_sdk:: tests, in a venv.
export DCA_SDK_VENV="${DCA_SDK_VENV:-$ROOT/target/sdk-venv}"
SDK_REQ="$ROOT/tests/sdk/requirements.txt"
if [ ! -x "$DCA_SDK_VENV/bin/python" ]; then
  step "Python virtual environment for the official SDK ($DCA_SDK_VENV)"
  command -v python3 >/dev/null || { echo "error: python3 is required for the vendor_sdk:: tests" >&2; exit 1; }
  rm -rf "$DCA_SDK_VENV"
  if ! python3 -m venv "$DCA_SDK_VENV"; then
    rm -rf "$DCA_SDK_VENV"
    if command -v apt-get >/dev/null; then
      pyver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
      export DEBIAN_FRONTEND=noninteractive
      as_root apt-get install -y python3-venv "python${pyver}-venv" \
        || as_root apt-get install -y python3-venv \
        || { as_root apt-get update && as_root apt-get install -y python3-venv; }
    fi
    python3 -m venv "$DCA_SDK_VENV"
  fi
fi
# Each pinned requirement already installed at its version? Then nothing to do.
if ! "$DCA_SDK_VENV/bin/python" - "$SDK_REQ" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, _, pin = line.partition("==")
    try:
        if version(name.strip()) != pin.strip():
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
then
  step "pip install -r tests/sdk/requirements.txt"
  "$DCA_SDK_VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$SDK_REQ"
fi

SHARED="${DCA_SHARED_DIR:-$ROOT/../shared}"
HARNESS="$SHARED/ha-harness"
# nextest filter and libtest arguments that leave the Home Assistant tests out.
ha_filter=()
ha_skip=()
if [ -x "$HARNESS/install.sh" ]; then
  step "Home Assistant harness ($HARNESS/install.sh)"
  "$HARNESS/install.sh"
  if [ "$(id -u)" = 0 ]; then
    step "Home Assistant harness, today's release (HA_FLAVOUR=current $HARNESS/install.sh)"
    HA_FLAVOUR=current "$HARNESS/install.sh"
  else
    ha_filter=(-E 'not test(=home_assistant::acceptance_in_current_home_assistant)')
    ha_skip=(--skip 'home_assistant::acceptance_in_current_home_assistant')
    skipped="SKIPPED: home_assistant::acceptance_in_current_home_assistant (today's Home Assistant):"
    skipped="$skipped the harness's HA_FLAVOUR=current needs root (a Debian root in a chroot); run tests/run.sh as root to run it"
    echo "$skipped"
  fi
else
  ha_filter=(-E 'not test(/^home_assistant::/)')
  ha_skip=(--skip 'home_assistant::')
  skipped="SKIPPED: the Home Assistant tests (home_assistant::*): no Home Assistant harness at $HARNESS"
  skipped="$skipped (it installs and runs a real Home Assistant; put it there, or point DCA_SHARED_DIR at its parent, to run them)"
  echo "$skipped"
fi

# One build of all targets first: the end-to-end tests spawn target/debug/vcf-mqtt-bridge, which
# must be current. Same profile and feature set as the test run below, so nothing is built twice.
step "cargo build --workspace --all-targets"
cargo build --workspace --all-targets --locked

if cargo nextest --version >/dev/null 2>&1; then
  step "cargo nextest run --workspace"
  cargo nextest run --workspace --locked --no-fail-fast "${ha_filter[@]}"
else
  step "cargo test --workspace (cargo-nextest not installed)"
  cargo test --workspace --locked --no-fail-fast -- "${ha_skip[@]}"
fi

step "cargo test --workspace --doc"
cargo test --workspace --doc --locked

if [ -n "${skipped:-}" ]; then
  printf '\n%s\n' "$skipped"
fi
