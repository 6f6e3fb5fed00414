//! Configuration errors: a bad value stops the bridge before it connects anywhere, with exit
//! code 64 (EX_USAGE) and a message naming the key.

use dca_tests::bridge::{BridgeConfig, run_to_exit};
use dca_tests::wait::secs;

/// A valid configuration for a bridge that never gets to connect (nothing listens on port 9).
fn base_config(dir: &std::path::Path) -> BridgeConfig {
    BridgeConfig::for_test(
        9,
        "http://127.0.0.1:9",
        "admin@local",
        "secret-password",
        dir,
    )
}

/// One bad configuration: the key its message must name, the TOML, extra environment.
struct BadCase<'a> {
    key: &'a str,
    toml: String,
    env: Vec<(&'a str, &'a str)>,
}

/// Writes `toml` to a file in `dir` and runs `vcf-mqtt-bridge <subcommand> --config FILE`.
async fn run_with(
    dir: &std::path::Path,
    toml: &str,
    subcommand: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<std::process::Output> {
    let path = dir.join(format!("{subcommand}.toml"));
    std::fs::write(&path, toml)?;
    let path = path.display().to_string();
    run_to_exit(&[subcommand, "--config", &path], env, secs(60)).await
}

/// Every bad value exits 64 and names its key, for both `run` and `check-config`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_exit_64_naming_the_key() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let good = base_config(dir.path()).to_toml();
    let case = |key, toml: String, env| BadCase { key, toml, env };
    let cases = vec![
        case(
            "mqtt.port",
            good.replace("port = 9\n", "port = \"not-a-port\"\n"),
            vec![],
        ),
        case(
            "poll.resources",
            good.replace("resources = \"1s\"", "resources = \"every now and then\""),
            vec![],
        ),
        case(
            "vcf.url",
            good.replace("url = \"http://127.0.0.1:9\"", "url = \"not a url\""),
            vec![],
        ),
        case(
            "upgrade.precheck_timeout",
            good.replace(
                "precheck_timeout = \"10m\"",
                "precheck_timeout = \"forever\"",
            ),
            vec![],
        ),
        case(
            "mqtt.port",
            good.clone(),
            vec![("DCA_MQTT__PORT", "eighty")],
        ),
    ];
    let mut failures = Vec::new();
    for BadCase { key, toml, env } in &cases {
        anyhow::ensure!(
            toml != &good || !env.is_empty(),
            "case {key} did not change the config"
        );
        for sub in ["run", "check-config"] {
            let out = run_with(dir.path(), toml, sub, env).await?;
            let stderr = String::from_utf8_lossy(&out.stderr).to_string()
                + &String::from_utf8_lossy(&out.stdout);
            if out.status.code() != Some(64) {
                failures.push(format!(
                    "{sub} with bad {key}: exit {:?}, output:\n{stderr}",
                    out.status.code()
                ));
            } else if !stderr.contains(key) {
                failures.push(format!(
                    "{sub} with bad {key}: the message does not name {key}:\n{stderr}"
                ));
            }
            if stderr.contains("secret-password") {
                failures.push(format!(
                    "{sub} with bad {key}: the password appears in the output"
                ));
            }
        }
    }
    anyhow::ensure!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

/// A missing required key is named too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_vcf_url_is_named() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let toml = base_config(dir.path())
        .to_toml()
        .replace("url = \"http://127.0.0.1:9\"\n", "");
    let out = run_with(dir.path(), &toml, "check-config", &[]).await?;
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.code() == Some(64),
        "exit {:?}: {text}",
        out.status.code()
    );
    anyhow::ensure!(
        text.contains("vcf.url"),
        "message does not name vcf.url: {text}"
    );
    Ok(())
}

/// `check-config` accepts the configuration the harness uses, without connecting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_accepts_a_good_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let toml = base_config(dir.path()).to_toml();
    let out = run_with(dir.path(), &toml, "check-config", &[]).await?;
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "check-config failed ({:?}): {text}",
        out.status.code()
    );
    anyhow::ensure!(
        !text.contains("secret-password"),
        "the password appears in: {text}"
    );
    Ok(())
}
