//! Opening a [`TargetSpec`] into a backend.

use std::sync::Arc;

use super::spec::{Target, TargetSpec};
use crate::backend::command::{PveshTransport, QmPctBackend, Runner, SshRunner, Tools};
use crate::backend::rest::{RestTransport, TlsTrust};
use crate::backend::sim::SimTransport;
use crate::backend::{ApiBackend, Backend};
use crate::error::{Error, Result};

/// Opens the backend for the target: one SSH session for the whole run where SSH is used,
/// one pooled HTTPS client for https:// (no connection until the first call).
///
/// # Errors
/// `Transport` when the SSH master cannot be started (ssh's reason included);
/// `Usage`/`Transport` when the TLS settings cannot be loaded (CA file, system roots);
/// `Usage` for `--tools qm-pct` with the simulator or an https target.
pub async fn open(spec: &TargetSpec) -> Result<Arc<dyn Backend>> {
    let runner = match &spec.target {
        Target::Sim => {
            if spec.tools == Tools::QmPct {
                return Err(Error::Usage("--tools qm-pct needs a local or ssh:// target (the in-process sim answers API calls)".into()));
            }
            return Ok(Arc::new(ApiBackend::new(SimTransport::from_env_or_demo()?)));
        }
        Target::Local => Runner::Local { sudo: spec.sudo },
        Target::Ssh(opts) => Runner::Ssh(SshRunner::connect(opts.clone()).await?),
        Target::Https(endpoint) => {
            if spec.tools == Tools::QmPct {
                return Err(Error::Usage("--tools qm-pct needs a local or ssh:// target (https:// speaks the API)".into()));
            }
            let opts = spec.rest.clone().ok_or_else(|| Error::Internal(format!("no REST settings for {endpoint}")))?;
            if opts.trust == TlsTrust::Insecure {
                // Every run, even with --quiet: the token is exposed to whoever can intercept.
                eprintln!(
                    "warning: --insecure: the TLS certificate of {endpoint} is not verified; anyone on the network path can take the API token (pin it with --fingerprint instead)"
                );
            }
            return Ok(Arc::new(ApiBackend::new(RestTransport::new(opts)?)));
        }
    };
    Ok(match spec.tools {
        Tools::Pvesh => Arc::new(ApiBackend::new(PveshTransport::new(runner))),
        Tools::QmPct => Arc::new(QmPctBackend::new(runner)),
    })
}
