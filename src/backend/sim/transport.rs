//! The in-process face: [`SimTransport`], an [`ApiTransport`] over a shared [`Sim`].
//!
//! Errors go through [`classify_cli_error`] with the text and exit code the `pvesh` face
//! would print, so the in-process simulator and `pve-sim` classify every failure the same.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use super::core::Sim;
use super::demo::demo_state;
use super::state::SimState;
use crate::backend::api::{ApiBackend, ApiTransport, Method, Params, check_params, check_path};
use crate::backend::command::classify_cli_error;
use crate::error::{Error, Result};

/// The simulator as an API transport. Clones share one simulated cluster; its state lives
/// in memory only (a state file it was loaded from is not written back).
#[derive(Debug, Clone)]
pub struct SimTransport {
    sim: Arc<Mutex<Sim>>,
}

/// A [`crate::backend::Backend`] over the in-process simulator.
pub type SimBackend = ApiBackend<SimTransport>;

impl SimTransport {
    /// A transport over the demo cluster ([`demo_state`]).
    pub fn demo() -> Self {
        Self::from_state(demo_state())
    }

    /// A transport over `state`.
    pub fn from_state(state: SimState) -> Self {
        Self { sim: Arc::new(Mutex::new(Sim::new(state))) }
    }

    /// The state in the JSON file named by `PVE_SIM_STATE` when set and present, else the demo.
    ///
    /// # Errors
    /// `Internal` when the file exists but cannot be read or is not a simulator state.
    pub fn from_env_or_demo() -> Result<Self> {
        match std::env::var_os("PVE_SIM_STATE") {
            Some(p) if Path::new(&p).exists() => Ok(Self::from_state(load_state(Path::new(&p))?)),
            _ => Ok(Self::demo()),
        }
    }

    /// Runs `f` on the simulator (for tests and the faces that need more than API calls).
    pub fn with_sim<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> R {
        let mut guard = self.sim.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

/// Reads a simulator state from a JSON file.
///
/// # Errors
/// `Internal` naming the file when it cannot be read or parsed.
pub fn load_state(path: &Path) -> Result<SimState> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Internal(format!("cannot read simulator state {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| Error::Internal(format!("{} is not a simulator state: {e}", path.display())))
}

#[async_trait]
impl ApiTransport for SimTransport {
    fn describe(&self) -> String {
        "Sim".to_owned()
    }

    fn render(&self, method: Method, path: &str, params: &Params) -> String {
        crate::backend::api::render_http(method, path, params)
    }

    async fn call(&self, method: Method, path: &str, params: &Params) -> Result<Value> {
        check_path(path)?;
        check_params(params)?;
        self.with_sim(|sim| sim.handle(method, path, params)).map_err(|e| classify_cli_error("pvesh", e.cli_exit(), &e.cli_text()))
    }

    async fn close(&self) -> Result<()> {
        Ok(())
    }
}
