//! `vcf-mqtt-bridge plan`: what an upgrade would do, per domain, read from SDDC Manager.
//!
//! Only reads are sent (plus the token login): the plan itself is
//! [`upgrade_orchestrator::plan()`], which builds each request body with the flow's own builders.

use anyhow::{Context, bail};
use upgrade_orchestrator::{DomainRef, UpgradePlan};

use crate::config::Config;

/// Plans every domain, or only `domain` (by name or id), and renders the plans as text or, with
/// `json`, as one JSON array.
///
/// # Errors
/// When SDDC Manager cannot be reached, the domain does not exist, or a plan cannot be made.
pub async fn run(config: &Config, domain: Option<&str>, json: bool) -> anyhow::Result<String> {
    let client = crate::vcf_client(config, None)?;
    let domains = client
        .domains()
        .await
        .with_context(|| format!("reading the domains of SDDC Manager {}", config.vcf.url))?;
    let chosen: Vec<DomainRef> = domains
        .iter()
        .filter(|d| domain.is_none_or(|want| d.name.eq_ignore_ascii_case(want) || d.id == want))
        .map(|d| DomainRef {
            id: d.id.clone(),
            name: d.name.clone(),
        })
        .collect();
    if chosen.is_empty() {
        let known: Vec<&str> = domains.iter().map(|d| d.name.as_str()).collect();
        match domain {
            Some(want) => bail!(
                "no domain named {want} in SDDC Manager {} (domains: {})",
                config.vcf.url,
                known.join(", ")
            ),
            None => bail!("SDDC Manager {} lists no domain", config.vcf.url),
        }
    }
    let mut plans: Vec<UpgradePlan> = Vec::with_capacity(chosen.len());
    for d in &chosen {
        let plan = upgrade_orchestrator::plan(&client, d, &config.upgrade.orchestrator)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("planning the upgrade of {}", d.name))?;
        plans.push(plan);
    }
    if json {
        return Ok(serde_json::to_string_pretty(&plans)? + "\n");
    }
    Ok(plans
        .iter()
        .map(UpgradePlan::to_text)
        .collect::<Vec<_>>()
        .join("\n"))
}
