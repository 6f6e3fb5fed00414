//! Resumable orchestrator for a VMware Cloud Foundation workload-domain upgrade.
//!
//! # Layout
//! - [`machine`]: the pure state machine (`step(state, event, now) -> Transition`).
//! - [`phase`]: the phases of a flow and the data each needs to continue after a restart.
//! - [`driver`]: performs the machine's effects against SDDC Manager, one task per domain.
//! - [`store`]: atomic, versioned persistence of every flow in `state_dir`.
//! - [`logbook`]: the bounded markdown log shown in Home Assistant.
//! - [`history`]: the finished flows a domain keeps once their log is reset.
//! - [`notify`]: the views, notifications and commands exchanged with the bridge.
//! - [`plan`](mod@plan): what an upgrade would do, read without changing anything.
//! - [`names`]: the public names of VCF components (NSX, vCenter, ESXi, SDDC Manager).
//! - [`windows`]: maintenance windows and when the next one opens.
//! - [`sequence`]: Upgrade All Domains, the management domain first, one domain at a time.
//! - [`clock`]: the wall clock the driver reads (and a test-only simulated one).
//! - [`config`]: poll intervals, timeouts and policy switches.
//! - [`api`]: the SDDC Manager operations the driver needs, implemented over `vcf_client` in
//!   a private adapter module.

pub mod api;
pub mod clock;
pub mod config;
pub mod driver;
pub mod history;
pub mod logbook;
pub mod machine;
pub mod names;
pub mod notify;
pub mod phase;
pub mod plan;
pub mod sequence;
pub mod store;
mod vcf;
pub mod windows;

pub use api::{ApiFailure, VcfApi};
pub use config::{ConfigError, OrchestratorConfig, TemporaryNetwork};
pub use driver::{Orchestrator, OrchestratorError};
pub use history::{RunResult, UpgradeRecord};
pub use machine::{Effect, Event, FlowState, Transition, step};
pub use notify::{
    Command, CommandOutcome, DomainRef, FlowObserver, FlowView, Notification, NotificationKind,
};
pub use phase::Phase;
pub use plan::{UpgradePlan, plan};
