//! Checks that what `deploy/`, `docs/` and the README ship stays true to the code.
//!
//! - every YAML / JSON / TOML file in the repository parses;
//! - the example config and the Kubernetes ConfigMap load with the real config loader, and the
//!   real binary's `check-config` accepts the example;
//! - every config key the code knows is in the example config and in `docs/configuration.md`;
//! - every topic the code builds is in `docs/mqtt.md`;
//! - the Dockerfile, compose file, Kubernetes manifests and systemd unit name the binaries,
//!   subcommands, image, ports and paths the code actually uses;
//! - the broker ACL guards every command topic; the Node-RED flow and the Home Assistant dashboard
//!   and blueprint use real topics and entity ids (the dashboard's against a running bridge).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dca_tests::repo_root;
use mqtt_bridge::commands::COMMANDS;
use mqtt_bridge::config::{self, Config, KEYS};
use mqtt_bridge::ha::entities::topic_patterns;
use mqtt_bridge::topics::Topics;
use serde_yaml::Value;

// === helpers ===

fn path(rel: &str) -> PathBuf {
    repo_root().join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// Every document of a (possibly multi-document) YAML file.
fn yaml_docs(rel: &str) -> Vec<Value> {
    use serde::Deserialize as _;
    let text = read(rel);
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{rel}: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

fn yaml(rel: &str) -> Value {
    let mut docs = yaml_docs(rel);
    assert_eq!(docs.len(), 1, "{rel} should hold one YAML document");
    docs.remove(0)
}

/// `v["a"]["b"][0]` written as `at(v, "a.b.0")`; missing keys give `Null`.
fn at<'a>(v: &'a Value, dotted: &str) -> &'a Value {
    dotted.split('.').fold(v, |v, k| match k.parse::<usize>() {
        Ok(i) => &v[i],
        Err(_) => &v[k],
    })
}

fn text_at(v: &Value, dotted: &str) -> String {
    match at(v, dotted) {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("{dotted} should be a scalar, is {other:?}"),
    }
}

fn strings_at(v: &Value, dotted: &str) -> Vec<String> {
    at(v, dotted)
        .as_sequence()
        .unwrap_or_else(|| panic!("{dotted} should be a list"))
        .iter()
        .map(|s| match s {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => panic!("{dotted}: {other:?} is not a string"),
        })
        .collect()
}

/// Files under the repository (without `target/`, `.git/`, `node_modules/`) ending in one of `exts`.
fn repo_files(exts: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "node_modules") {
                    walk(&p, exts, out);
                }
            } else if exts.iter().any(|e| name.ends_with(&format!(".{e}"))) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo_root(), exts, &mut out);
    out.sort();
    out
}

/// A config text with its password files (`<secrets_dir>/<name>`) moved into `dir`, where they
/// are created, so the loader (which reads them) can run here.
fn with_local_secrets(toml_text: &str, secrets_dir: &str, dir: &Path) -> String {
    let local = format!("{}/", dir.display());
    let text = toml_text.replace(secrets_dir, &local);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("password_file") {
            let file = line
                .split('"')
                .nth(1)
                .unwrap_or_else(|| panic!("password_file without a quoted path: {line}"));
            assert!(
                file.starts_with(&local),
                "{file}: password files should live under {secrets_dir}"
            );
            std::fs::write(file, "not-a-real-password\n").expect("write secret");
        }
    }
    text
}

/// `vcf.password_file` and `mqtt.password_file` as written in a config text.
fn password_files(toml_text: &str) -> Vec<String> {
    let t: toml::Table = toml::from_str(toml_text).expect("config TOML");
    ["vcf", "mqtt"]
        .iter()
        .map(|section| {
            t[*section]["password_file"]
                .as_str()
                .unwrap_or_else(|| panic!("{section}.password_file is set"))
                .to_owned()
        })
        .collect()
}

fn example_config() -> Config {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = with_local_secrets(&read("deploy/config.toml"), "/run/secrets/", dir.path());
    Config::from_toml_str(&text).unwrap_or_else(|e| panic!("deploy/config.toml: {e}"))
}

/// The `config.toml` of the Kubernetes ConfigMap.
fn kubernetes_config_text() -> String {
    let cm = yaml("deploy/kubernetes/configmap.yaml");
    assert_eq!(text_at(&cm, "kind"), "ConfigMap");
    cm["data"]["config.toml"]
        .as_str()
        .expect("ConfigMap data has config.toml")
        .to_owned()
}

fn kubernetes_config() -> Config {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = with_local_secrets(
        &kubernetes_config_text(),
        "/run/secrets/datacenter-assistant/",
        dir.path(),
    );
    Config::from_toml_str(&text).unwrap_or_else(|e| panic!("Kubernetes ConfigMap config.toml: {e}"))
}

fn listen_port(c: &Config) -> u16 {
    c.http
        .listen
        .map(|a: SocketAddr| a.port())
        .expect("[http] listen is set, the probes and the metrics port need it")
}

/// `[[bin]]` names of a crate.
fn bin_names(manifest: &str) -> Vec<String> {
    let t: toml::Table = toml::from_str(&read(manifest)).expect("Cargo.toml parses");
    t.get("bin")
        .and_then(|b| b.as_array())
        .map(|bins| {
            bins.iter()
                .filter_map(|b| b.get("name")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn bridge_bin() -> String {
    let bins = bin_names("crates/mqtt-bridge/Cargo.toml");
    assert_eq!(bins, ["vcf-mqtt-bridge"], "the bridge's binary");
    bins[0].clone()
}

fn sim_bin() -> String {
    let bins = bin_names("crates/vcf-sim/Cargo.toml");
    assert_eq!(bins, ["vcf-sim"], "the simulator's binary");
    bins[0].clone()
}

/// The JSON array in a Dockerfile instruction like `CMD ["run", "--config", "x"]`.
fn dockerfile_json(dockerfile: &str, instruction: &str) -> Vec<String> {
    let line = dockerfile
        .lines()
        .find(|l| l.starts_with(&format!("{instruction} ")))
        .unwrap_or_else(|| panic!("Dockerfile has no {instruction}"));
    serde_json::from_str(line[instruction.len()..].trim())
        .unwrap_or_else(|e| panic!("{instruction} should be an exec-form JSON array: {e}"))
}

/// The value after `flag` in an argument list.
fn arg_after(args: &[String], flag: &str) -> String {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| panic!("{flag} missing in {args:?}"))
}

/// MQTT topic filter matching (`+` one level, `#` the rest).
fn filter_matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// A documented pattern (`<b>/<i>/domain/<d>/upgrade/start/set`) made concrete.
fn concrete(pattern: &str, base: &str, instance: &str) -> String {
    pattern
        .replace("<b>", base)
        .replace("<i>", instance)
        .replace("<d>", "sfo_w01")
        .replace("<h>", "sfo01_w01_esx01")
        .replace("<c>", "sfo_w01_cl01")
        .replace("<prefix>", "homeassistant")
        .replace("<component>", "sensor")
        .replace("<object_id>", "vcf_sfo_w01_status")
}

/// Command topics (inbound): one per row of the bridge's command table, each documented.
fn command_patterns() -> Vec<String> {
    let t = Topics::new("<b>", "<prefix>", "<i>");
    let patterns: Vec<String> = COMMANDS.iter().map(|c| t.command(c, "<d>")).collect();
    assert!(patterns.len() >= 8, "too few command topics: {patterns:?}");
    let documented = Topics::documented_patterns();
    for p in &patterns {
        assert!(documented.contains(&p.as_str()), "{p} is not documented");
    }
    patterns
}

// === every shipped file parses ===

#[test]
fn every_yaml_json_and_toml_file_parses() {
    use serde::Deserialize as _;
    let files = repo_files(&["yaml", "yml", "json", "toml"]);
    let deploy_files = files
        .iter()
        .filter(|p| p.starts_with(path("deploy")))
        .count();
    assert!(
        deploy_files >= 12,
        "deploy/ ships fewer files than expected: {deploy_files}"
    );
    for file in &files {
        // Test fixtures may be broken on purpose; everything else ships.
        let rel = file.strip_prefix(repo_root()).unwrap_or(file);
        let in_tests = rel.starts_with("tests") && rel != Path::new("tests/Cargo.toml");
        let fixture = rel.components().any(|c| {
            matches!(
                c.as_os_str().to_str(),
                Some("fixtures" | "testdata" | "snapshots")
            )
        });
        if in_tests || fixture {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read");
        let name = file.display();
        match file.extension().and_then(|e| e.to_str()) {
            Some("json") => {
                serde_json::from_str::<serde_json::Value>(&text)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            Some("toml") => {
                toml::from_str::<toml::Table>(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            _ => {
                // Home Assistant's `!input` and similar tags parse as tagged values.
                for doc in serde_yaml::Deserializer::from_str(&text) {
                    Value::deserialize(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
                }
            }
        }
    }
}

// === configuration ===

#[test]
fn example_config_loads_with_the_real_loader() {
    let c = example_config();
    let defaults = Config::default();
    assert_eq!(
        c.state_dir, defaults.state_dir,
        "example state_dir is the default"
    );
    assert_eq!(
        c.instance_id(),
        "sfo_vcf01",
        "the dashboard and flow use this instance id"
    );
    assert_eq!(c.mqtt.discovery_prefix, "homeassistant");
    assert_eq!(
        c.mqtt.base_topic, "datacenter_assistant",
        "the ACL and flow use this base topic"
    );
    assert!(
        !c.vcf.insecure,
        "the example must not disable TLS verification"
    );
    assert!(
        !c.upgrade.allow_update_install,
        "the example keeps Install off (the default)"
    );
    assert_eq!(listen_port(&c), 9184);
}

#[test]
fn example_config_lists_every_key_with_a_comment() {
    let text = read("deploy/config.toml");
    let mut section = String::new();
    let mut found = BTreeSet::new();
    // A comment documents the keys set right below it, up to the next blank line.
    let mut in_commented_block = false;
    for line in text.lines() {
        let l = line.trim();
        if let Some(s) = l.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = s.to_owned();
            in_commented_block = false;
            continue;
        }
        let commented = l.starts_with('#');
        let body = l.trim_start_matches('#').trim_start();
        if let Some((key, rest)) = body.split_once('=') {
            let key = key.trim();
            if !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                // Either commented out (the comment is the documentation) or set with a
                // comment on its own line or the same line.
                assert!(
                    commented || in_commented_block || rest.contains('#'),
                    "deploy/config.toml: {key} has no comment"
                );
                let dotted = if section.is_empty() {
                    key.to_owned()
                } else {
                    format!("{section}.{key}")
                };
                found.insert(dotted);
            }
        }
        if l.is_empty() {
            in_commented_block = false;
        } else if commented {
            in_commented_block = true;
        }
    }
    let missing: Vec<_> = KEYS.iter().filter(|k| !found.contains(**k)).collect();
    assert!(
        missing.is_empty(),
        "deploy/config.toml lacks keys: {missing:?}"
    );
    let unknown: Vec<_> = found
        .iter()
        .filter(|k| !KEYS.contains(&k.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "deploy/config.toml has keys the code does not know: {unknown:?}"
    );
}

#[tokio::test]
async fn the_real_binary_accepts_the_example_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = with_local_secrets(&read("deploy/config.toml"), "/run/secrets/", dir.path());
    let file = dir.path().join("config.toml");
    std::fs::write(&file, text).expect("write config");
    let file = file.display().to_string();
    let out = dca_tests::bridge::run_to_exit(
        &["check-config", "--config", &file],
        &[],
        Duration::from_secs(60),
    )
    .await
    .expect("run vcf-mqtt-bridge check-config");
    assert!(
        out.status.success(),
        "check-config rejected deploy/config.toml: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The subcommands the deploy files use exist.
    let out = dca_tests::bridge::run_to_exit(&["--help"], &[], Duration::from_secs(60))
        .await
        .expect("run vcf-mqtt-bridge --help");
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in ["run", "check-config", "demo"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(sub)),
            "`vcf-mqtt-bridge --help` lists no `{sub}` subcommand:\n{help}"
        );
    }
}

/// Dotted keys of a section that the loader knows, found by asking the loader itself: an
/// unknown key in a strict section is rejected with the list of the keys it expected.
/// `None` when the section accepts unknown keys (so nothing can be learned).
fn probe_section(section: &str) -> Option<Vec<String>> {
    const BASE: &str =
        "vcf.url = \"https://sddc.example\"\nvcf.username = \"u\"\nvcf.password = \"p\"\n";
    let probe = format!("{section}.zz_probe");
    let err = Config::from_toml_str(&format!("{BASE}{probe} = 1\n")).err()?;
    if err.key != probe || !err.message.starts_with("unknown key") {
        return None;
    }
    let list = err.message.split("expected one of:").nth(1)?;
    let mut keys = Vec::new();
    for field in list.split(',').map(|f| f.trim().trim_matches('`')) {
        if field.is_empty() {
            continue;
        }
        let dotted = format!("{section}.{field}");
        match probe_section(&dotted) {
            Some(nested) => keys.extend(nested),
            None => keys.push(dotted),
        }
    }
    Some(keys)
}

#[test]
fn every_config_key_in_the_code_is_documented() {
    // The keys the code reads, derived from the loader: strict sections by probing, the
    // [upgrade] table by serialising the orchestrator's defaults.
    let mut derived = BTreeSet::new();
    let sections: BTreeSet<&str> = KEYS
        .iter()
        .filter_map(|k| k.split_once('.'))
        .map(|(s, _)| s)
        .collect();
    let mut strict = 0;
    for section in &sections {
        if let Some(keys) = probe_section(section) {
            strict += 1;
            derived.extend(keys);
        }
    }
    assert!(
        strict >= 4,
        "probing found only {strict} strict config sections"
    );
    let orchestrator = toml::Table::try_from(&example_config().upgrade.orchestrator)
        .expect("the orchestrator config serialises");
    assert!(orchestrator.len() >= 10);
    derived.extend(orchestrator.keys().map(|k| format!("upgrade.{k}")));
    for key in [
        "mqtt.tls.ca_file",
        "vcf.pin_sha256",
        "poll.resources",
        "upgrade.precheck_timeout",
    ] {
        assert!(
            derived.contains(key),
            "derivation missed {key}: {derived:?}"
        );
    }

    let listed: BTreeSet<String> = KEYS.iter().map(|k| (*k).to_owned()).collect();
    let unlisted: Vec<_> = derived.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "config keys missing from mqtt_bridge::config::KEYS: {unlisted:?}"
    );

    let doc = read("docs/configuration.md");
    let undocumented: Vec<_> = listed
        .iter()
        .filter(|k| !doc.contains(&format!("`{k}`")) && !doc.contains(&config::env_name(k)))
        .collect();
    assert!(
        undocumented.is_empty(),
        "docs/configuration.md does not mention (as `key` or its DCA_ variable): {undocumented:?}"
    );
}

// === topics ===

#[test]
fn every_topic_in_the_code_is_documented() {
    // From the bridge's entity and command tables, so a new entity or command cannot skip the
    // list and the docs.
    let derived = topic_patterns();
    assert!(
        derived.len() >= 20,
        "found too few topics in the entity and command tables ({}): {derived:?}",
        derived.len()
    );
    let doc = read("docs/mqtt.md");
    let documented = Topics::documented_patterns();
    let missing: Vec<_> = documented.iter().filter(|p| !doc.contains(**p)).collect();
    assert!(
        missing.is_empty(),
        "docs/mqtt.md lacks topics the bridge lists: {missing:?}"
    );

    let undocumented: Vec<_> = derived
        .iter()
        .filter(|p| !doc.contains(p.as_str()) || !documented.contains(&p.as_str()))
        .collect();
    assert!(
        undocumented.is_empty(),
        "topics built in code but not in docs/mqtt.md or Topics::documented_patterns: {undocumented:?}"
    );
}

// === container image and compose ===

#[test]
fn dockerfile_builds_the_real_binaries_with_the_real_paths() {
    let df = read("deploy/Dockerfile");
    let bridge = bridge_bin();
    let sim = sim_bin();
    assert!(
        df.contains("-p mqtt-bridge") && df.contains("-p vcf-sim"),
        "builds both packages"
    );
    for bin in [&bridge, &sim] {
        assert!(
            df.contains(&format!("target/release/{bin}")),
            "copies {bin}"
        );
    }
    assert_eq!(
        dockerfile_json(&df, "ENTRYPOINT"),
        [format!("/usr/local/bin/{bridge}")]
    );
    let cmd = dockerfile_json(&df, "CMD");
    assert_eq!(cmd[0], "run");
    assert_eq!(
        arg_after(&cmd, "--config"),
        "/etc/datacenter-assistant/config.toml"
    );

    let state = Config::default().state_dir.display().to_string();
    assert_eq!(
        dockerfile_json(&df, "VOLUME"),
        [state],
        "state dir is the volume"
    );
    let port = listen_port(&example_config());
    assert!(
        df.contains(&format!("EXPOSE {port}")),
        "exposes the [http] port {port}"
    );

    // Multi-stage, small and non-root.
    assert!(df.matches("\nFROM ").count() + usize::from(df.starts_with("FROM ")) >= 2);
    let user = df
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER in the final stage");
    assert!(
        !user.starts_with('0') && !user.starts_with("root"),
        "runs as {user}"
    );
    assert!(df.contains(&format!("--chown={user}")) || df.contains("--chown=65532"));
}

#[test]
fn compose_names_the_image_ports_and_paths_the_binary_uses() {
    let compose = yaml("deploy/docker-compose.yml");
    let example = example_config();
    let bridge = at(&compose, "services.bridge");
    let image = text_at(bridge, "image");
    assert_eq!(text_at(bridge, "build.dockerfile"), "deploy/Dockerfile");
    assert!(
        path("deploy")
            .join(text_at(bridge, "build.context"))
            .join("Cargo.toml")
            .is_file()
    );

    // The config file it mounts is the one the command reads, and it is deploy/config.toml.
    let command = strings_at(bridge, "command");
    assert_eq!(command[0], "run");
    let config_path = arg_after(&command, "--config");
    let volumes = strings_at(bridge, "volumes");
    assert!(
        volumes.contains(&format!("./config.toml:{config_path}:ro")),
        "mounts deploy/config.toml at {config_path}: {volumes:?}"
    );
    // The state volume is at the configured state dir.
    let state = example.state_dir.display().to_string();
    assert!(
        volumes
            .iter()
            .any(|v| v.split(':').nth(1) == Some(state.as_str()) && !v.starts_with('.')),
        "a named volume at {state}: {volumes:?}"
    );
    // The health/metrics port.
    let port = listen_port(&example);
    let ports = strings_at(bridge, "ports");
    assert!(
        ports.iter().any(|p| p.ends_with(&format!(":{port}"))),
        "publishes [http] port {port}: {ports:?}"
    );
    // Secrets: the password files of the config are the bridge's secrets.
    let secrets = strings_at(bridge, "secrets");
    for file in password_files(&read("deploy/config.toml")) {
        let name = file
            .strip_prefix("/run/secrets/")
            .expect("compose secrets live in /run/secrets")
            .to_owned();
        assert!(
            secrets.contains(&name),
            "bridge gets secret {name}: {secrets:?}"
        );
        assert!(!at(&compose, &format!("secrets.{name}.file")).is_null());
    }
    // The broker is a service of this file, and the bridge's account exists on it.
    assert!(!at(&compose, &format!("services.{}", example.mqtt.host)).is_null());
    let mosquitto_cmd = strings_at(&compose, "services.mosquitto.command").join("\n");
    let user = example.mqtt.username.clone().expect("mqtt.username");
    assert!(
        mosquitto_cmd.contains(&format!("{user}:")),
        "broker account {user}"
    );
    assert!(
        mosquitto_cmd.contains("mosquitto_passwd -U"),
        "passwords are hashed"
    );

    // The simulator: same image, the real binary and flags, the port the bridge is pointed at.
    let sim = at(&compose, "services.vcf-sim");
    assert_eq!(strings_at(sim, "profiles"), ["demo"]);
    assert_eq!(text_at(sim, "image"), image);
    assert_eq!(
        strings_at(sim, "entrypoint"),
        [format!("/usr/local/bin/{}", sim_bin())]
    );
    let sim_args = strings_at(sim, "command");
    let scenario = arg_after(&sim_args, "--scenario");
    assert!(vcf_sim::Scenario::builtin_names().contains(&scenario.as_str()));
    let sim_port = arg_after(&sim_args, "--listen")
        .rsplit(':')
        .next()
        .expect("port")
        .to_owned();
    let url = text_at(bridge, "environment.DCA_VCF__URL");
    assert!(
        url.contains(&format!("vcf-sim:{sim_port}")),
        "{url} targets the simulator"
    );
    let sim_src = read("crates/vcf-sim/src/main.rs");
    for flag in sim_args.iter().filter(|a| a.starts_with("--")) {
        let field = flag.trim_start_matches("--").replace('-', "_");
        assert!(
            sim_src.contains(&format!("{field}:")) || sim_src.contains(&format!("\"{flag}\"")),
            "vcf-sim has no {flag} option"
        );
    }
    assert_eq!(
        config::env_name("vcf.url"),
        "DCA_VCF__URL",
        "the compose environment uses this name"
    );

    // Optional services sit behind profiles.
    for (service, profile) in [("homeassistant", "homeassistant"), ("node-red", "nodered")] {
        assert_eq!(
            strings_at(&compose, &format!("services.{service}.profiles")),
            [profile]
        );
    }
    // Files the compose file mounts exist.
    for service in ["mosquitto", "homeassistant"] {
        for v in strings_at(&compose, &format!("services.{service}.volumes")) {
            if let Some(local) = v.split(':').next().filter(|l| l.starts_with("./")) {
                assert!(
                    path("deploy").join(local).exists(),
                    "{service} mounts missing {local}"
                );
            }
        }
    }
}

#[test]
fn mosquitto_requires_accounts_and_guards_command_topics() {
    let conf = read("deploy/mosquitto/mosquitto.conf");
    let directives: Vec<&str> = conf
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(directives.contains(&"allow_anonymous false"));
    assert!(directives.iter().any(|d| d.starts_with("password_file ")));
    assert!(directives.contains(&"acl_file /mosquitto/config/acl"));
    // No message over the bridge's packet limit is accepted at all.
    let limit: usize = directives
        .iter()
        .find_map(|d| d.strip_prefix("message_size_limit "))
        .expect("message_size_limit is set")
        .parse()
        .expect("message_size_limit is a number");
    assert!(
        limit > 0 && limit <= mqtt_bridge::mqtt::MAX_PACKET,
        "message_size_limit {limit} must be within the bridge's {} bytes",
        mqtt_bridge::mqtt::MAX_PACKET
    );

    // user -> (access, filter) from the ACL file.
    let mut acl: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut user = String::new();
    for line in read("deploy/mosquitto/acl").lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["user", u] => user = (*u).to_owned(),
            ["topic", access, filter] => {
                assert!(!user.is_empty(), "topic rule before any user: {line}");
                acl.entry(user.clone())
                    .or_default()
                    .push(((*access).to_owned(), (*filter).to_owned()));
            }
            ["topic", _] | ["pattern", ..] => {
                panic!("rules without a user apply to everyone: {line}")
            }
            _ => {}
        }
    }
    let may = |user: &str, write: bool, topic: &str| {
        acl.get(user).is_some_and(|rules| {
            rules.iter().any(|(access, filter)| {
                let ok = match access.as_str() {
                    "readwrite" => true,
                    "write" => write,
                    "read" => !write,
                    _ => false,
                };
                ok && filter_matches(filter, topic)
            })
        })
    };
    let c = example_config();
    let (b, i) = (c.mqtt.base_topic.as_str(), c.instance_id());
    let bridge_user = c.mqtt.username.clone().expect("mqtt.username");
    let commands = command_patterns();
    for pattern in &commands {
        let topic = concrete(pattern, b, &i);
        assert!(
            may("homeassistant", true, &topic),
            "Home Assistant may press {topic}"
        );
        assert!(
            may(&bridge_user, false, &topic),
            "the bridge may subscribe to {topic}"
        );
        assert!(
            !may("viewer", true, &topic),
            "viewer must not press {topic}"
        );
        assert!(
            !may("nobody", true, &topic),
            "unknown users must not press {topic}"
        );
    }
    for pattern in Topics::documented_patterns() {
        let topic = concrete(pattern, b, &i);
        assert!(
            may(&bridge_user, true, &topic),
            "the bridge may publish {topic}"
        );
        if !commands.iter().any(|c| c == pattern) && pattern.starts_with("<b>") {
            assert!(
                !may("homeassistant", true, &topic),
                "Home Assistant must not forge {topic}"
            );
            assert!(
                may("homeassistant", false, &topic),
                "Home Assistant reads {topic}"
            );
        }
    }
    // Home Assistant reads discovery and writes only its own status there: it cannot forge or
    // replace a discovery config.
    let ha_status = format!("{}/status", c.mqtt.discovery_prefix);
    assert!(may("homeassistant", true, &ha_status) && may(&bridge_user, false, &ha_status));
    let config_topic = format!("{}/sensor/{i}/vcf_{i}_x/config", c.mqtt.discovery_prefix);
    assert!(may("homeassistant", false, &config_topic));
    assert!(
        !may("homeassistant", true, &config_topic),
        "Home Assistant must not forge {config_topic}"
    );
    assert!(may(&bridge_user, true, &config_topic));
    // Node-RED may start and acknowledge, nothing more.
    let start = concrete("<b>/<i>/domain/<d>/upgrade/start/set", b, &i);
    let ack = concrete("<b>/<i>/domain/<d>/upgrade/acknowledge/set", b, &i);
    let abort = concrete("<b>/<i>/domain/<d>/upgrade/abort/set", b, &i);
    assert!(may("nodered", true, &start) && may("nodered", true, &ack));
    assert!(!may("nodered", true, &abort));
}

// === Kubernetes ===

#[tokio::test]
async fn kubernetes_manifests_match_the_binary() {
    let deployment = yaml("deploy/kubernetes/deployment.yaml");
    let compose = yaml("deploy/docker-compose.yml");
    let c = kubernetes_config();
    assert_eq!(text_at(&deployment, "kind"), "Deployment");
    assert_eq!(text_at(&deployment, "spec.replicas"), "1");
    assert_eq!(text_at(&deployment, "spec.strategy.type"), "Recreate");

    let pod = at(&deployment, "spec.template.spec");
    let containers = at(pod, "containers").as_sequence().expect("containers");
    assert_eq!(containers.len(), 1);
    let container = &containers[0];
    assert_eq!(
        text_at(container, "image"),
        text_at(&compose, "services.bridge.image"),
        "Kubernetes runs the image compose builds"
    );
    let args = strings_at(container, "args");
    assert_eq!(args[0], "run");
    let config_path = PathBuf::from(arg_after(&args, "--config"));

    // Volumes: ConfigMap at the config's directory, PVC at state_dir, Secret at the password files.
    let mounts: BTreeMap<String, String> = at(container, "volumeMounts")
        .as_sequence()
        .expect("volumeMounts")
        .iter()
        .map(|m| (text_at(m, "name"), text_at(m, "mountPath")))
        .collect();
    let volumes: BTreeMap<String, &Value> = at(pod, "volumes")
        .as_sequence()
        .expect("volumes")
        .iter()
        .map(|v| (text_at(v, "name"), v))
        .collect();
    let mount_of = |kind: &str| {
        let (name, _) = volumes
            .iter()
            .find(|(_, v)| !at(v, kind).is_null())
            .unwrap_or_else(|| panic!("no {kind} volume"));
        PathBuf::from(
            mounts
                .get(name)
                .unwrap_or_else(|| panic!("{name} is not mounted")),
        )
    };
    assert_eq!(Some(mount_of("configMap").as_path()), config_path.parent());
    let cm = yaml("deploy/kubernetes/configmap.yaml");
    let file_name = config_path
        .file_name()
        .expect("file")
        .to_string_lossy()
        .into_owned();
    assert!(
        !at(&cm, "data")[file_name.as_str()].is_null(),
        "ConfigMap has {file_name}"
    );
    assert_eq!(
        mount_of("persistentVolumeClaim"),
        c.state_dir,
        "PVC at state_dir"
    );
    let secret_dir = mount_of("secret");
    let secret = yaml("deploy/kubernetes/secret.yaml");
    for file in password_files(&kubernetes_config_text()) {
        let rel = Path::new(&file)
            .strip_prefix(&secret_dir)
            .expect("password file in the Secret mount");
        let key = rel.display().to_string();
        assert!(
            !at(&secret, &format!("stringData.{key}")).is_null(),
            "Secret has {key}"
        );
    }
    let claim = text_at(volumes["state"], "persistentVolumeClaim.claimName");
    let pvc = yaml("deploy/kubernetes/pvc.yaml");
    assert_eq!(text_at(&pvc, "metadata.name"), claim);

    // Probes on the [http] listen port, on paths the bridge really serves.
    let port = listen_port(&c);
    let ports = at(container, "ports").as_sequence().expect("ports");
    let named: BTreeMap<String, String> = ports
        .iter()
        .map(|p| (text_at(p, "name"), text_at(p, "containerPort")))
        .collect();
    let metrics = mqtt_bridge::observability::Metrics::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(mqtt_bridge::observability::serve_listener(
        listener,
        metrics.clone(),
        shutdown.clone(),
    ));
    for (probe, expect) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let p = text_at(container, &format!("{probe}.httpGet.path"));
        assert_eq!(p, expect, "{probe}");
        let probe_port = text_at(container, &format!("{probe}.httpGet.port"));
        let number = named.get(&probe_port).cloned().unwrap_or(probe_port);
        assert_eq!(
            number,
            port.to_string(),
            "{probe} uses the [http] listen port"
        );
        let status = reqwest::get(format!("http://{addr}{p}"))
            .await
            .expect("probe request")
            .status()
            .as_u16();
        // Not ready yet (no broker, no SDDC Manager) is a 503, but never a missing route.
        assert!(status == 200 || status == 503, "{p} answered {status}");
    }
    metrics.set_broker_connected(true);
    metrics.set_vcf_reachable(true);
    let ready = reqwest::get(format!("http://{addr}/readyz"))
        .await
        .expect("readyz");
    assert_eq!(ready.status().as_u16(), 200);
    shutdown.cancel();
    server.await.expect("join").expect("server");

    let service = yaml("deploy/kubernetes/service.yaml");
    assert_eq!(text_at(&service, "spec.ports.0.port"), port.to_string());
    let kustomization = yaml("deploy/kubernetes/kustomization.yaml");
    for file in strings_at(&kustomization, "resources") {
        assert!(
            path("deploy/kubernetes").join(&file).is_file(),
            "kustomization lists {file}"
        );
    }
}

// === systemd ===

#[test]
fn systemd_unit_is_hardened_and_runs_the_binary() {
    let unit = read("deploy/systemd/datacenter-assistant.service");
    let settings: Vec<(&str, &str)> = unit
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    let get = |k: &str| -> Vec<&str> {
        settings
            .iter()
            .filter(|(key, _)| *key == k)
            .map(|(_, v)| *v)
            .collect()
    };
    let exec = get("ExecStart");
    assert_eq!(exec.len(), 1);
    let args: Vec<String> = exec[0].split_whitespace().map(str::to_owned).collect();
    assert_eq!(args[0], format!("/usr/local/bin/{}", bridge_bin()));
    assert_eq!(args[1], "run");
    assert_eq!(
        arg_after(&args, "--config"),
        "/etc/datacenter-assistant/config.toml"
    );

    let state = Config::default().state_dir;
    assert_eq!(
        get("StateDirectory"),
        [state
            .strip_prefix("/var/lib")
            .expect("under /var/lib")
            .display()
            .to_string()]
    );
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("DynamicUser", "yes"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(get(key), [value], "{key}");
    }
    assert_eq!(
        get("RestartPreventExitStatus"),
        [config::EXIT_CONFIG.to_string()]
    );
    let env = get("Environment");
    for key in ["vcf.password_file", "mqtt.password_file"] {
        let name = config::env_name(key);
        assert!(
            env.iter().any(|e| e.starts_with(&format!("{name}=%d/"))),
            "{name} from credentials"
        );
    }
}

// === Node-RED ===

#[test]
fn node_red_flow_follows_and_drives_upgrades_on_documented_topics() {
    let flow: serde_json::Value =
        serde_json::from_str(&read("deploy/node-red/flow.json")).expect("flow.json");
    let nodes = flow.as_array().expect("a flow export is an array of nodes");
    let ids: BTreeSet<&str> = nodes.iter().filter_map(|n| n["id"].as_str()).collect();
    assert_eq!(ids.len(), nodes.len(), "node ids are unique");
    for n in nodes {
        for output in n["wires"].as_array().into_iter().flatten() {
            for target in output.as_array().into_iter().flatten() {
                let t = target.as_str().expect("wire target id");
                assert!(ids.contains(t), "{} wires to missing node {t}", n["id"]);
            }
        }
        let is_config_node = n["type"].as_str().is_some_and(|t| t.ends_with("-broker"));
        if let Some(broker) = n["broker"].as_str().filter(|_| !is_config_node) {
            assert!(
                ids.contains(broker),
                "{} uses missing broker {broker}",
                n["id"]
            );
        }
        if let Some(z) = n["z"].as_str() {
            assert!(ids.contains(z), "{} sits on missing tab {z}", n["id"]);
        }
    }
    let c = example_config();
    let (b, i) = (c.mqtt.base_topic.as_str(), c.instance_id());
    let documented = |topic: &str| {
        Topics::documented_patterns().iter().any(|p| {
            let wild = p
                .replace("<b>", b)
                .replace("<i>", "+")
                .replace("<d>", "+")
                .replace("<h>", "+")
                .replace("<c>", "+");
            filter_matches(&wild, topic) || filter_matches(topic, &concrete(p, b, &i))
        })
    };
    let subscriptions: Vec<&str> = nodes
        .iter()
        .filter(|n| n["type"] == "mqtt in")
        .filter_map(|n| n["topic"].as_str())
        .collect();
    for suffix in ["/upgrade/state", "/upgrade/event"] {
        assert!(
            subscriptions.iter().any(|s| s.ends_with(suffix)),
            "subscribes to {suffix}"
        );
    }
    for s in &subscriptions {
        assert!(documented(s), "{s} is not a documented topic");
    }
    // The follow function learns each domain's topic root from the state topic...
    let follow = nodes
        .iter()
        .find(|n| n["type"] == "function" && n["wires"].as_array().is_some_and(|w| w.len() == 2))
        .expect("the follow function");
    let follow_src = follow["func"].as_str().expect("func");
    assert!(follow_src.contains("flow.set('dca_roots'") && follow_src.contains("upgrade\\/state"));
    // ...and the command function turns {domain, action} into `<root>/upgrade/<action>/set`.
    let mut actions = BTreeSet::new();
    for n in nodes.iter().filter(|n| n["type"] == "inject") {
        assert_eq!(n["payload"], "PRESS");
        let prop = |name: &str| {
            n["props"]
                .as_array()
                .and_then(|props| props.iter().find(|p| p["p"] == name))
                .and_then(|p| p["v"].as_str())
                .unwrap_or_else(|| panic!("inject {} sets no msg.{name}", n["id"]))
                .to_owned()
        };
        let (domain, action) = (prop("domain"), prop("action"));
        let topic = concrete("<b>/<i>/domain/<d>", b, &i).replace("sfo_w01", &domain)
            + &format!("/upgrade/{action}/set");
        assert!(
            command_patterns()
                .iter()
                .any(|p| concrete(p, b, &i).replace("sfo_w01", &domain) == topic),
            "{topic} is not a command topic"
        );
        actions.insert(action);
        let targets = n["wires"][0].as_array().expect("wired");
        assert_eq!(targets.len(), 1);
        let func = nodes
            .iter()
            .find(|m| m["id"] == targets[0])
            .expect("target");
        let src = func["func"].as_str().expect("a function node");
        assert!(src.contains("dca_roots") && src.contains("/upgrade/${msg.action}/set"));
        assert!(src.contains("payload: 'PRESS'"));
        for target in func["wires"][0].as_array().expect("wired") {
            let out = nodes.iter().find(|m| m["id"] == *target).expect("target");
            assert_eq!(out["type"], "mqtt out");
            assert_eq!(out["topic"], "", "the topic comes from the message");
            assert_eq!(out["retain"], "false", "commands are never retained");
        }
    }
    assert_eq!(
        actions,
        BTreeSet::from(["acknowledge".to_owned(), "start".to_owned()])
    );
}

// === Home Assistant ===

/// Entity ids in a text: `domain.object_id` for the platforms the bridge creates.
fn entity_ids(text: &str) -> BTreeSet<String> {
    let platforms = [
        "sensor",
        "binary_sensor",
        "button",
        "switch",
        "update",
        "event",
    ];
    let mut out = BTreeSet::new();
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')) {
        if let Some((platform, object)) = word.split_once('.')
            && platforms.contains(&platform)
            && object.starts_with("vcf_")
        {
            out.insert(word.trim_end_matches('.').to_owned());
        }
    }
    out
}

fn dashboard_domain_entities(d: &str) -> Vec<String> {
    [
        "sensor.vcf_{d}_status",
        "sensor.vcf_{d}_current_version",
        "sensor.vcf_{d}_components_to_update",
        "sensor.vcf_{d}_cpu_usage",
        "sensor.vcf_{d}_memory_usage",
        "sensor.vcf_{d}_storage_usage",
        "sensor.vcf_{d}_upgrade_status",
        "sensor.vcf_{d}_upgrade_logs",
        "sensor.vcf_{d}_precheck_findings",
        "sensor.vcf_{d}_upgrade_history",
        "button.vcf_{d}_start_upgrade",
        "button.vcf_{d}_acknowledge_alerts",
        "button.vcf_{d}_download_bundles",
        "button.vcf_{d}_abort_upgrade",
        "button.vcf_{d}_retry_upgrade",
        "button.vcf_{d}_plan_upgrade",
        "switch.vcf_{d}_ignore_alerts",
        "update.vcf_{d}_update",
        "event.vcf_{d}_upgrade_notification",
    ]
    .iter()
    .map(|e| e.replace("{d}", d))
    .collect()
}

#[test]
fn dashboard_has_the_domain_cards() {
    let text = read("deploy/homeassistant/dashboard.yaml");
    let dash = yaml("deploy/homeassistant/dashboard.yaml");
    let views = at(&dash, "views").as_sequence().expect("views");
    assert!(views.len() >= 2);
    let ids = entity_ids(&text);
    for d in ["sfo_m01", "sfo_w01"] {
        for e in dashboard_domain_entities(d) {
            assert!(ids.contains(&e), "dashboard lacks {e}");
        }
        assert!(
            ids.iter()
                .any(|e| e.starts_with(&format!("sensor.vcf_{d}_")) && e.ends_with("_host_count")),
            "dashboard lacks {d}'s host count"
        );
        assert!(
            ids.iter()
                .any(|e| e.starts_with("sensor.vcf_host_") && e.contains(&d[4..])),
            "dashboard lacks {d}'s hosts"
        );
        // The Upgrade Logs markdown card renders the logs sensor's markdown attribute.
        assert!(
            text.contains(&format!(
                "state_attr('sensor.vcf_{d}_upgrade_logs', 'markdown')"
            )),
            "no markdown card for {d}"
        );
    }
    assert!(text.contains("type: markdown"));
    // The cockpit: the findings show only while the flow waits for acknowledgement, and only
    // core cards are used.
    for d in ["sfo_m01", "sfo_w01"] {
        assert!(
            text.contains(&format!(
                "entity: sensor.vcf_{d}_upgrade_status\n                state: waiting_for_alert_acknowledgement"
            )),
            "no findings card for {d}"
        );
    }
    let core = [
        "markdown",
        "entities",
        "tile",
        "button",
        "conditional",
        "heading",
        "gauge",
        "grid",
    ];
    for line in text.lines() {
        if let Some(ty) = line.trim().trim_start_matches("- ").strip_prefix("type: ") {
            assert!(
                core.contains(&ty) || ty == "sections",
                "not a core card: {ty}"
            );
        }
    }
    // Buttons press through button.press.
    assert!(text.matches("perform_action: button.press").count() >= 8);
}

#[test]
fn blueprint_acknowledges_from_the_phone() {
    let bp = yaml("deploy/homeassistant/blueprints/vcf_upgrade_notifications.yaml");
    let text = read("deploy/homeassistant/blueprints/vcf_upgrade_notifications.yaml");
    assert_eq!(text_at(&bp, "blueprint.domain"), "automation");
    assert_eq!(
        text_at(
            &bp,
            "blueprint.input.event_entities.selector.entity.filter.0.domain"
        ),
        "event"
    );
    assert_eq!(
        text_at(
            &bp,
            "blueprint.input.notify_device.selector.device.filter.0.integration"
        ),
        "mobile_app"
    );
    // Every notification kind the orchestrator emits can be chosen.
    let options: BTreeSet<String> = at(&bp, "blueprint.input.event_types.selector.select.options")
        .as_sequence()
        .expect("options")
        .iter()
        .map(|o| text_at(o, "value"))
        .collect();
    for kind in [
        "upgrade_started",
        "no_update_available",
        "already_running",
        "acknowledgement_needed",
        "completed",
        "failed",
        "aborted",
        "downloads_completed",
        "info",
    ] {
        assert!(options.contains(kind), "blueprint cannot select {kind}");
    }
    assert!(text.contains("persistent_notification.create"));
    assert!(text.contains("type: notify") && text.contains("title: Acknowledge"));
    assert!(text.contains("mobile_app_notification_action"));
    assert!(text.contains("action: button.press"));
    // The Acknowledge button is derived from the event entity id: check the rule on the ids.
    assert!(text.contains("replace('_upgrade_notification', '_acknowledge_alerts')"));
    let ev = "event.vcf_sfo_w01_upgrade_notification";
    let derived = ev
        .replacen("event.", "button.", 1)
        .replace("_upgrade_notification", "_acknowledge_alerts");
    assert!(dashboard_domain_entities("sfo_w01").contains(&derived));
}

/// The dashboard's entity ids are the ones a real bridge announces (on the default scenario,
/// which the dashboard is written for).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_entities_are_announced_by_the_real_bridge() {
    let text = read("deploy/homeassistant/dashboard.yaml");
    let mut rig = dca_tests::rig::Rig::start("default", 0.005)
        .await
        .expect("broker and simulator");
    let instance = rig.config.instance_id.clone();
    let prefix = rig.config.discovery_prefix.clone();
    // The dashboard is written for the demo's instance "demo"; the rig's bridge has its own id.
    let wanted: BTreeSet<String> =
        entity_ids(&text.replace("vcf_demo_", &format!("vcf_{instance}_")));
    assert!(
        wanted.len() >= 40,
        "dashboard names only {} entities",
        wanted.len()
    );
    rig.start_bridge_online().await.expect("bridge online");

    let recorder = &rig.recorder;
    let announced = dca_tests::wait::until(
        "every dashboard entity to be announced",
        dca_tests::wait::secs(60),
        || async {
            let ids: BTreeSet<String> = recorder
                .latest_by_topic()
                .into_iter()
                .filter(|(topic, m)| {
                    topic.starts_with(&format!("{prefix}/"))
                        && topic.split('/').nth(2) == Some(instance.as_str())
                        && !m.payload.is_empty()
                })
                .filter_map(|(topic, m)| {
                    let json = m.json().ok()?;
                    let component = topic.split('/').nth(1)?.to_owned();
                    let object = json["object_id"].as_str()?.to_owned();
                    Some(format!("{component}.{object}"))
                })
                .collect();
            wanted.is_subset(&ids).then_some(ids)
        },
    )
    .await;
    let announced = match announced {
        Ok(ids) => ids,
        Err(e) => {
            let ids: BTreeSet<String> = rig
                .recorder
                .latest_by_topic()
                .into_values()
                .filter_map(|m| {
                    let json = m.json().ok()?;
                    Some(json["object_id"].as_str()?.to_owned())
                })
                .collect();
            let missing: Vec<_> = wanted
                .iter()
                .filter(|w| !ids.contains(w.split_once('.').map_or("", |(_, o)| o)))
                .collect();
            panic!("{e:#}: not announced: {missing:?}");
        }
    };
    // The blueprint's derived Acknowledge button exists for every announced event entity.
    for ev in announced
        .iter()
        .filter(|e| e.starts_with("event.") && e.ends_with("_upgrade_notification"))
    {
        let button = ev
            .replacen("event.", "button.", 1)
            .replace("_upgrade_notification", "_acknowledge_alerts");
        assert!(announced.contains(&button), "no {button} for {ev}");
    }
}

// === README ===

#[test]
fn readme_has_exactly_the_two_setup_commands_and_working_links() {
    let readme = read("README.md");
    let mut blocks = Vec::new();
    let mut inside: Option<Vec<&str>> = None;
    for line in readme.lines() {
        if line.starts_with("```") {
            match inside.take() {
                Some(block) => blocks.push(block.join("\n")),
                None => inside = Some(Vec::new()),
            }
        } else if let Some(block) = inside.as_mut() {
            block.push(line);
        }
    }
    assert_eq!(
        blocks,
        ["cargo run --bin vcf-mqtt-bridge -- demo", "tests/run.sh"],
        "README's set-up commands"
    );
    assert!(path("tests/run.sh").is_file());

    for doc in [
        "README.md",
        "deploy/README.md",
        "deploy/homeassistant/README.md",
    ] {
        let text = read(doc);
        let base = path(doc).parent().expect("dir").to_path_buf();
        for (i, _) in text.match_indices("](") {
            let target = text[i + 2..].split(')').next().unwrap_or_default();
            if target.starts_with("http") || target.starts_with('#') || target.is_empty() {
                continue;
            }
            let file = target.split('#').next().unwrap_or(target);
            assert!(base.join(file).exists(), "{doc} links to missing {target}");
        }
    }
}
