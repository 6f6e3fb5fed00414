#!/usr/bin/env bash
# Entrypoint of the DataCenter Assistant app: turns the app's options (/data/options.json) and the
# MQTT broker the Supervisor provides into the bridge's TOML configuration, then runs the bridge.
#
#   run.sh                      write the configuration and exec the bridge
#   run.sh --config-only FILE   only write the configuration to FILE (used by the test suite)
#
# Inputs (the defaults are what the Supervisor provides):
#   DCA_APP_OPTIONS       options file, default /data/options.json
#   DCA_APP_MQTT_SERVICE  a file holding the Supervisor's MQTT service answer (its "data" object);
#                         default: GET http://supervisor/services/mqtt with SUPERVISOR_TOKEN
#   DCA_APP_CONFIG        where the configuration is written, default /tmp/datacenter-assistant.toml
set -euo pipefail

OPTIONS=${DCA_APP_OPTIONS:-/data/options.json}
CONFIG=${DCA_APP_CONFIG:-/tmp/datacenter-assistant.toml}
CONFIG_ONLY=0
if [ "${1:-}" = "--config-only" ]; then
  CONFIG_ONLY=1
  CONFIG=${2:?usage: run.sh --config-only FILE}
fi

fail() {
  echo "datacenter-assistant app: $*" >&2
  exit 64
}

[ -r "$OPTIONS" ] || fail "cannot read the options file $OPTIONS"
jq -e 'type == "object"' "$OPTIONS" > /dev/null 2>&1 || fail "$OPTIONS is not a JSON object"

# The broker: the Supervisor's MQTT service, unless every needed value is in the options.
if [ -n "${DCA_APP_MQTT_SERVICE:-}" ]; then
  SERVICE=$(cat "$DCA_APP_MQTT_SERVICE")
elif [ -n "$(jq -r '.mqtt_host // empty' "$OPTIONS")" ]; then
  SERVICE='{}'
elif [ -n "${SUPERVISOR_TOKEN:-}" ]; then
  SERVICE=$(curl -fsS -H "Authorization: Bearer ${SUPERVISOR_TOKEN}" http://supervisor/services/mqtt \
    | jq -c '.data') || fail "the Supervisor has no MQTT service: install and start the Mosquitto broker app, or set mqtt_host"
else
  fail "no MQTT broker: set mqtt_host, or run as a Home Assistant app with the MQTT service"
fi
echo "$SERVICE" | jq -e 'type == "object"' > /dev/null 2>&1 || fail "the MQTT service answer is not a JSON object"

# Required options, named in the error as the app's form names them.
for key in vcf_url vcf_username vcf_password; do
  [ -n "$(jq -r --arg k "$key" '.[$k] // empty' "$OPTIONS")" ] || fail "option $key is required"
done

umask 077
# jq writes every string as a JSON string, which is also a valid TOML basic string.
jq -r --argjson svc "$SERVICE" '
  def s: tojson;
  def opt(k): (.[k] // null) | if . == "" then null else . end;
  . as $o
  | [
      "# generated from the app options by run.sh; edit the options, not this file",
      (if opt("instance_id") then "instance_id = \(opt("instance_id") | s)" else empty end),
      "state_dir = \("/data/state" | s)",
      "read_only = \($o.read_only // false)",
      "",
      "[mqtt]",
      "host = \((opt("mqtt_host") // $svc.host // "core-mosquitto") | s)",
      "port = \(opt("mqtt_port") // $svc.port // 1883)",
      ((opt("mqtt_username") // $svc.username // null) | if . then "username = \(s)" else empty end),
      ((opt("mqtt_password") // $svc.password // null) | if . then "password = \(s)" else empty end),
      (if (opt("mqtt_host") == null) and ($svc.ssl // false) then "\n[mqtt.tls]\nenabled = true" else empty end),
      "",
      "[vcf]",
      "url = \(opt("vcf_url") | s)",
      "username = \(opt("vcf_username") | s)",
      "password = \(opt("vcf_password") | s)",
      (if opt("vcf_ca_file") then "ca_file = \(opt("vcf_ca_file") | s)" else empty end),
      (if opt("vcf_pin_sha256") then "pin_sha256 = \(opt("vcf_pin_sha256") | s)" else empty end),
      "insecure = \(if $o.vcf_verify_tls == false then true else false end)",
      "",
      "[poll]",
      "resources = \("\($o.poll_resources_seconds // 10)s" | s)",
      "updates = \("\($o.poll_updates_minutes // 15)m" | s)",
      "",
      "[upgrade]",
      "allow_update_install = \($o.allow_update_install // false)",
      "",
      "[http]",
      "listen = \("0.0.0.0:9184" | s)",
      "",
      "[log]",
      "level = \(($o.log_level // "info") | s)"
    ]
  | .[]
' "$OPTIONS" > "$CONFIG" || fail "could not map the options to a configuration"

if [ "$CONFIG_ONLY" = 1 ]; then
  exit 0
fi
mkdir -p /data/state
exec /usr/local/bin/vcf-mqtt-bridge run --config "$CONFIG"
