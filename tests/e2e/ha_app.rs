//! The Home Assistant app (add-on) in `deploy/homeassistant-app/`: its `config.yaml` follows the
//! Supervisor's app configuration format, its options have translations, and its entrypoint
//! turns options plus the Supervisor's MQTT service into a configuration the bridge accepts.
//!
//! The format checks follow the documented app configuration keys
//! (<https://developers.home-assistant.io/docs/add-ons/configuration>): required keys and their
//! types, the architectures, `services` entries, `map` folders, `watchdog` and the option schema
//! type strings.

use std::path::{Path, PathBuf};
use std::process::Command;

use dca_tests::bridge::bridge_binary;
use dca_tests::repo_root;
use serde_yaml::Value;

const APP: &str = "deploy/homeassistant-app/datacenter_assistant";

fn app_file(name: &str) -> PathBuf {
    repo_root().join(APP).join(name)
}

fn app_yaml(name: &str) -> Value {
    let path = app_file(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Why `ty` is not a valid option schema type string, if it is not.
fn schema_type_error(ty: &str) -> Option<String> {
    let ty = ty.strip_suffix('?').unwrap_or(ty);
    if ["bool", "email", "url", "password", "port", "device"].contains(&ty) {
        return None;
    }
    // str, int, float with an optional range: `int(1,)`, `float(0.5,2)`, `str(,64)`.
    for base in ["str", "int", "float"] {
        if let Some(rest) = ty.strip_prefix(base) {
            let ok = rest.is_empty()
                || rest
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|r| r.split_once(','))
                    .is_some_and(|(lo, hi)| {
                        [lo, hi].iter().all(|b| {
                            b.is_empty() || b.trim_start_matches('-').parse::<f64>().is_ok()
                        })
                    });
            return (!ok).then(|| format!("bad range for {base}"));
        }
    }
    if let Some(inner) = ty.strip_prefix("match(").and_then(|t| t.strip_suffix(')')) {
        let balanced = inner.matches('(').count() == inner.matches(')').count();
        return (inner.is_empty() || !balanced)
            .then(|| "match() needs a pattern with balanced parentheses".to_owned());
    }
    if let Some(inner) = ty.strip_prefix("list(").and_then(|t| t.strip_suffix(')')) {
        let ok = inner
            .split('|')
            .all(|v| !v.is_empty() && !v.contains(['(', ')']));
        return (!ok).then(|| "list() needs values separated by |".to_owned());
    }
    if ty.starts_with("device(subsystem=") && ty.ends_with(')') {
        return None;
    }
    Some("not a schema type (bool, str, int, float, email, url, password, port, match(), list(), device)".into())
}

/// The problems of one option value against its schema type (`None` when it fits).
fn value_error(ty: &str, v: &Value) -> Option<String> {
    let base = ty.trim_end_matches('?');
    let fits = match base {
        "bool" => v.is_bool(),
        "port" => v.as_u64().is_some_and(|p| (1..=65535).contains(&p)),
        t if t.starts_with("int") => {
            let n = v.as_i64();
            let min = t
                .strip_prefix("int(")
                .and_then(|r| r.split(',').next())
                .and_then(|m| m.parse::<i64>().ok());
            n.is_some_and(|n| min.is_none_or(|m| n >= m))
        }
        t if t.starts_with("list(") => {
            let values = &t[5..t.len() - 1];
            v.as_str()
                .is_some_and(|s| values.split('|').any(|x| x == s))
        }
        // Strings: an empty default is how an app asks the user to fill a required value in.
        _ => v.is_string(),
    };
    (!fits).then(|| format!("{v:?} does not fit {ty}"))
}

#[test]
fn app_config_follows_the_app_configuration_format() {
    let c = app_yaml("config.yaml");
    let text = |k: &str| {
        c[k].as_str()
            .unwrap_or_else(|| panic!("config.yaml: `{k}` must be a string"))
            .to_owned()
    };
    for key in ["name", "version", "slug", "description"] {
        assert!(!text(key).is_empty(), "config.yaml: `{key}` is empty");
    }
    assert!(
        text("slug")
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
        "slug"
    );
    // The app's version is the workspace's, and its changelog has an entry for it.
    let cargo: toml::Table = std::fs::read_to_string(repo_root().join("Cargo.toml"))
        .expect("Cargo.toml")
        .parse()
        .expect("toml");
    let version = cargo["workspace"]["package"]["version"]
        .as_str()
        .expect("workspace version");
    assert_eq!(text("version"), version);
    let changelog = std::fs::read_to_string(app_file("CHANGELOG.md")).expect("CHANGELOG.md");
    assert!(changelog.contains(&format!("## {version}")), "CHANGELOG.md");

    let arch: Vec<&str> = c["arch"]
        .as_sequence()
        .expect("arch list")
        .iter()
        .map(|a| a.as_str().expect("arch string"))
        .collect();
    assert_eq!(arch, ["amd64", "aarch64"]);
    let known = ["armhf", "armv7", "aarch64", "amd64", "i386"];
    assert!(arch.iter().all(|a| known.contains(a)), "{arch:?}");

    assert!(
        ["initialize", "system", "services", "application", "once"]
            .contains(&text("startup").as_str())
    );
    assert!(["auto", "manual", "manual_only"].contains(&text("boot").as_str()));
    assert!(c["init"].is_bool() || c["init"].is_null());

    let services: Vec<&str> = c["services"]
        .as_sequence()
        .expect("services")
        .iter()
        .map(|s| s.as_str().expect("service string"))
        .collect();
    assert_eq!(services, ["mqtt:need"]);
    assert!(services.iter().all(|s| {
        s.split_once(':').is_some_and(|(name, how)| {
            ["mqtt", "mysql"].contains(&name) && ["provide", "want", "need"].contains(&how)
        })
    }));

    let folders = [
        "homeassistant_config",
        "addon_config",
        "all_addon_configs",
        "ssl",
        "share",
        "backup",
        "media",
        "addons",
        "config",
    ];
    for m in c["map"].as_sequence().expect("map") {
        let m = m.as_str().expect("map entry");
        let (folder, mode) = m.split_once(':').unwrap_or((m, "ro"));
        assert!(folders.contains(&folder), "map: {m}");
        assert!(["ro", "rw"].contains(&mode), "map: {m}");
    }

    // The watchdog polls the bridge's /healthz on the port run.sh makes it listen on.
    let watchdog = text("watchdog");
    assert!(
        ["http://", "https://", "tcp://"]
            .iter()
            .any(|scheme| watchdog.starts_with(&format!("{scheme}[HOST]:[PORT:"))),
        "{watchdog}"
    );
    assert!(watchdog.ends_with("/healthz"), "{watchdog}");
    assert!(watchdog.contains("[PORT:9184]"), "{watchdog}");
    assert!(c["ports"]["9184/tcp"].is_null() || c["ports"]["9184/tcp"].is_u64());

    // Every option has a schema entry; every schema entry is a valid type string; defaults fit.
    let schema = c["schema"].as_mapping().expect("schema");
    let options = c["options"].as_mapping().expect("options");
    for (k, v) in options {
        let key = k.as_str().expect("option key");
        let ty = schema
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("option {key} has no schema"));
        if let Some(e) = value_error(ty, v) {
            panic!("option {key}: {e}");
        }
    }
    for (k, ty) in schema {
        let key = k.as_str().expect("schema key");
        let ty = ty
            .as_str()
            .unwrap_or_else(|| panic!("schema {key}: not a string"));
        if let Some(e) = schema_type_error(ty) {
            panic!("schema {key}: `{ty}`: {e}");
        }
        // A required option needs a default in `options`, or the app cannot be saved.
        if !ty.ends_with('?') {
            assert!(
                options.contains_key(k),
                "required option {key} has no default"
            );
        }
    }
    for (key, ty) in [
        ("vcf_url", "url"),
        ("vcf_password", "password"),
        ("vcf_verify_tls", "bool"),
        ("mqtt_port", "port?"),
        ("mqtt_password", "password?"),
        ("poll_resources_seconds", "int(1,)"),
        ("log_level", "list(error|warn|info|debug|trace)"),
    ] {
        assert_eq!(schema.get(key).and_then(Value::as_str), Some(ty), "{key}");
    }

    // The translations name and describe every option.
    let tr = app_yaml("translations/en.yaml");
    for k in schema.keys() {
        let key = k.as_str().expect("key");
        for field in ["name", "description"] {
            assert!(
                tr["configuration"][key][field]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "translations/en.yaml: configuration.{key}.{field}"
            );
        }
    }

    let build = app_yaml("build.yaml");
    for a in &arch {
        assert!(
            build["build_from"][*a].as_str().is_some(),
            "build.yaml: {a}"
        );
    }
    let repo: Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo_root().join("deploy/homeassistant-app/repository.yaml"))
            .expect("repository.yaml"),
    )
    .expect("yaml");
    assert!(repo["name"].as_str().is_some_and(|s| !s.is_empty()));
    for f in ["DOCS.md", "Dockerfile", "run.sh"] {
        assert!(app_file(f).exists(), "{f}");
    }
}

/// Runs the entrypoint's mapping step; returns its exit code, the configuration and stderr.
fn map_options(dir: &Path, options: &str, service: Option<&str>) -> (i32, String, String) {
    let opts = dir.join("options.json");
    std::fs::write(&opts, options).expect("write options");
    let out = dir.join("config.toml");
    let _ = std::fs::remove_file(&out);
    let mut cmd = Command::new("bash");
    cmd.arg(app_file("run.sh"))
        .arg("--config-only")
        .arg(&out)
        .env("DCA_APP_OPTIONS", &opts)
        .env_remove("DCA_APP_MQTT_SERVICE")
        .env_remove("SUPERVISOR_TOKEN");
    if let Some(s) = service {
        let svc = dir.join("service.json");
        std::fs::write(&svc, s).expect("write service");
        cmd.env("DCA_APP_MQTT_SERVICE", &svc);
    }
    let o = cmd
        .output()
        .expect("bash and jq are needed to run the app's entrypoint");
    (
        o.status.code().unwrap_or(-1),
        std::fs::read_to_string(&out).unwrap_or_default(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `vcf-mqtt-bridge check-config` on `config`, with no `DCA_*` variable of the test's own
/// environment leaking in.
fn check_config(config: &Path) -> (bool, String) {
    let mut cmd = Command::new(bridge_binary().expect("bridge binary"));
    cmd.arg("check-config").arg("--config").arg(config);
    for (k, _) in std::env::vars() {
        if k.starts_with("DCA_") {
            cmd.env_remove(k);
        }
    }
    let o = cmd.output().expect("run check-config");
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

const SUPERVISOR_MQTT: &str = r#"{"host": "core-mosquitto", "port": 1883, "ssl": false,
  "protocol": "3.1.1", "username": "addons", "password": "s3cr\"et", "addon": "core_mosquitto"}"#;

#[test]
fn app_options_and_the_supervisor_broker_become_a_configuration_the_bridge_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, toml_text, err) = map_options(
        dir.path(),
        r#"{"vcf_url": "https://sfo-vcf01.sfo.rainpole.io", "vcf_username": "administrator@vsphere.local",
            "vcf_password": "VMw@re1!\"\\", "vcf_verify_tls": true, "vcf_ca_file": "/ssl/vcf-ca.pem",
            "poll_resources_seconds": 20, "poll_updates_minutes": 30, "instance_id": "sfo_vcf01",
            "allow_update_install": true, "read_only": false, "log_level": "debug"}"#,
        Some(SUPERVISOR_MQTT),
    );
    assert_eq!(code, 0, "{err}");
    let t: toml::Table = toml_text
        .parse()
        .unwrap_or_else(|e| panic!("{e}\n{toml_text}"));
    assert_eq!(t["instance_id"].as_str(), Some("sfo_vcf01"));
    assert_eq!(t["state_dir"].as_str(), Some("/data/state"));
    assert_eq!(t["mqtt"]["host"].as_str(), Some("core-mosquitto"));
    assert_eq!(t["mqtt"]["port"].as_integer(), Some(1883));
    assert_eq!(t["mqtt"]["username"].as_str(), Some("addons"));
    assert_eq!(t["mqtt"]["password"].as_str(), Some("s3cr\"et"));
    assert!(t["mqtt"].get("tls").is_none());
    assert_eq!(t["vcf"]["password"].as_str(), Some("VMw@re1!\"\\"));
    assert_eq!(t["vcf"]["ca_file"].as_str(), Some("/ssl/vcf-ca.pem"));
    assert_eq!(t["vcf"]["insecure"].as_bool(), Some(false));
    assert_eq!(t["poll"]["resources"].as_str(), Some("20s"));
    assert_eq!(t["poll"]["updates"].as_str(), Some("30m"));
    assert_eq!(t["upgrade"]["allow_update_install"].as_bool(), Some(true));
    assert_eq!(t["http"]["listen"].as_str(), Some("0.0.0.0:9184"));
    assert_eq!(t["log"]["level"].as_str(), Some("debug"));
    // The CA file must exist for the bridge to accept it; the check runs without it.
    let no_ca = toml_text.replace("ca_file = \"/ssl/vcf-ca.pem\"\n", "");
    let cfg = dir.path().join("checked.toml");
    std::fs::write(&cfg, &no_ca).expect("write");
    let (ok, out) = check_config(&cfg);
    assert!(ok, "{out}\n{no_ca}");
    assert!(out.contains("instance_id sfo_vcf01"), "{out}");
    assert!(out.contains("broker core-mosquitto:1883"), "{out}");
}

#[test]
fn app_broker_options_override_the_supervisor_and_tls_follows_the_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Only the user is set: host, port and password still come from the Supervisor.
    let (code, text, err) = map_options(
        dir.path(),
        r#"{"vcf_url": "https://vcf.example.net", "vcf_username": "u", "vcf_password": "p",
            "vcf_verify_tls": false, "mqtt_username": "dca", "log_level": "info"}"#,
        Some(
            r#"{"host": "10.0.0.5", "port": 8883, "ssl": true, "username": "addons", "password": "x"}"#,
        ),
    );
    assert_eq!(code, 0, "{err}");
    let t: toml::Table = text.parse().expect("toml");
    assert_eq!(t["mqtt"]["host"].as_str(), Some("10.0.0.5"));
    assert_eq!(t["mqtt"]["port"].as_integer(), Some(8883));
    assert_eq!(t["mqtt"]["username"].as_str(), Some("dca"));
    assert_eq!(t["mqtt"]["password"].as_str(), Some("x"));
    assert_eq!(t["mqtt"]["tls"]["enabled"].as_bool(), Some(true));
    assert_eq!(t["vcf"]["insecure"].as_bool(), Some(true));
    assert_eq!(t["poll"]["resources"].as_str(), Some("10s"));
    let cfg = dir.path().join("config.toml");
    let (ok, out) = check_config(&cfg);
    assert!(ok, "{out}\n{text}");

    // A broker of its own: no Supervisor service needed at all.
    let (code, text, err) = map_options(
        dir.path(),
        r#"{"vcf_url": "https://vcf.example.net", "vcf_username": "u", "vcf_password": "p",
            "mqtt_host": "broker.lan", "mqtt_port": 1884}"#,
        None,
    );
    assert_eq!(code, 0, "{err}");
    let t: toml::Table = text.parse().expect("toml");
    assert_eq!(t["mqtt"]["host"].as_str(), Some("broker.lan"));
    assert_eq!(t["mqtt"]["port"].as_integer(), Some(1884));
    assert!(t["mqtt"].get("username").is_none());
    let (ok, out) = check_config(&cfg);
    assert!(ok, "{out}\n{text}");
}

#[test]
fn app_refuses_missing_options_and_a_missing_broker_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = map_options(
        dir.path(),
        r#"{"vcf_url": "https://vcf.example.net", "vcf_username": "u", "vcf_password": ""}"#,
        Some(SUPERVISOR_MQTT),
    );
    assert_eq!(code, 64);
    assert!(err.contains("option vcf_password is required"), "{err}");
    let (code, _, err) = map_options(
        dir.path(),
        r#"{"vcf_url": "https://vcf.example.net", "vcf_username": "u", "vcf_password": "p"}"#,
        None,
    );
    assert_eq!(code, 64);
    assert!(err.contains("no MQTT broker"), "{err}");
    let (code, _, err) = map_options(dir.path(), "[1, 2]", Some(SUPERVISOR_MQTT));
    assert_eq!(code, 64);
    assert!(err.contains("not a JSON object"), "{err}");
    // An option value the bridge rejects is named by the bridge's own check.
    let (code, text, _) = map_options(
        dir.path(),
        r#"{"vcf_url": "ftp://vcf.example.net", "vcf_username": "u", "vcf_password": "p"}"#,
        Some(SUPERVISOR_MQTT),
    );
    assert_eq!(code, 0);
    let cfg = dir.path().join("config.toml");
    let (ok, out) = check_config(&cfg);
    assert!(!ok, "{text}");
    assert!(out.contains("vcf.url"), "{out}");
}
