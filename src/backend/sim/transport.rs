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
use super::statefile::{SimEnv, SimStateFile, sim_state_file_from_env, with_state};
use crate::backend::api::{ApiBackend, ApiTransport, Method, Params, check_params, check_path};
use crate::backend::command::classify_cli_error;
use crate::error::{Error, Result};

/// The simulator as an API transport. Clones share one simulated cluster: in memory, or in a
/// state file (`PVE_SIM_STATE`, else the user's `sim.json`) that every call locks, loads,
/// changes and saves, exactly as the `pve-sim` tools do, so successive `-t sim` runs, and the
/// tools given the same file, see one evolving cluster. The state's slow-call and tool-hang
/// faults (`faults.latency_ms`, `faults.hang`) delay the answer, outside the lock.
#[derive(Debug, Clone)]
pub struct SimTransport {
    store: Store,
}

#[derive(Debug, Clone)]
enum Store {
    Memory(Arc<Mutex<Sim>>),
    File(Arc<SimEnv>),
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
        Self { store: Store::Memory(Arc::new(Mutex::new(Sim::new(state)))) }
    }

    /// A transport over the state file `path` (created from the demo state on first use),
    /// shared with the `pve-sim` tools under the same file lock.
    pub fn from_file(path: &Path) -> Self {
        let env = SimEnv { state_path: Some(path.to_path_buf()), log_path: None, latency_ms: None, node: None };
        Self { store: Store::File(Arc::new(env)) }
    }

    /// What `-t sim` opens: the state file named by `PVE_SIM_STATE` when set, else
    /// `$XDG_STATE_HOME/pvectl/sim.json` or `~/.local/state/pvectl/sim.json` (its directory
    /// created mode 0700; the file created from the demo on first use), see
    /// [`SimTransport::from_file`] and [`crate::backend::sim::sim_state_file`]; the demo
    /// cluster in memory only when neither `PVE_SIM_STATE`, `XDG_STATE_HOME` nor `HOME` is set.
    ///
    /// # Errors
    /// `Internal` when the state directory cannot be created, or the file exists but is not a
    /// simulator state (the message names it and `pvectl sim reset`).
    pub fn from_env_or_demo() -> Result<Self> {
        match sim_state_file_from_env().map_err(Error::Internal)? {
            // The library's own unit tests must never read or write the user's state.
            #[cfg(test)]
            Some(SimStateFile::User(path)) => Err(Error::Internal(format!(
                "a unit test opened -t sim without PVE_SIM_STATE: it would use the user's {}; use SimTransport::demo()",
                path.display()
            ))),
            Some(file) => {
                let path = file.path();
                if path.exists() {
                    load_state(path).map_err(|e| match (&file, e) {
                        (SimStateFile::User(_), Error::Internal(m)) => {
                            Error::Internal(format!("{m} (`pvectl sim reset` starts over from the demo)"))
                        }
                        (_, e) => e,
                    })?;
                }
                Ok(Self::from_file(path))
            }
            None => Ok(Self::demo()),
        }
    }

    /// Runs `f` on the simulator (locking and saving the state file where there is one).
    ///
    /// # Errors
    /// `Internal` when the state file cannot be locked, read or written.
    pub fn with_sim<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> Result<R> {
        match &self.store {
            Store::Memory(sim) => {
                let mut guard = sim.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                Ok(f(&mut guard))
            }
            Store::File(env) => with_state(env, f).map_err(Error::Internal),
        }
    }
}

/// Reads a simulator state from a JSON file.
///
/// # Errors
/// `Internal` naming the file when it cannot be read or parsed.
pub fn load_state(path: &Path) -> Result<SimState> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::Internal(format!("cannot read simulator state {}: {e}", path.display())))?;
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

    /// `qm`/`pct` sub-commands that finish without a task (`pct exec`, `qm guest cmd`), run by
    /// the simulator's tool face in process.
    async fn run_tool(&self, tool: &str, args: &[String]) -> Result<crate::backend::command::CommandOutput> {
        let kind = match tool {
            "qm" => crate::model::GuestKind::Qemu,
            "pct" => crate::model::GuestKind::Lxc,
            other => return Err(Error::Unsupported { operation: other.to_owned(), reason: "in the in-process simulator".into() }),
        };
        let out = self.with_sim(|sim| match super::tools::start(sim, kind, args) {
            super::foreground::Step::Done(o) => Ok(o),
            super::foreground::Step::Wait(_) => Err(Error::Unsupported {
                operation: format!("{tool} {}", args.first().cloned().unwrap_or_default()),
                reason: "as a tool in process (it runs a task)".into(),
            }),
        })??;
        Ok(crate::backend::command::CommandOutput { status: out.code, stdout: out.stdout.into_bytes(), stderr: out.stderr.into_bytes() })
    }

    async fn write(&self, method: Method, path: &str, params: &Params) -> Result<(Value, Option<crate::backend::api::Foreground>)> {
        // The task runs on after the answer: its end is the task status's to tell.
        Ok((self.call(method, path, params).await?, None))
    }

    /// The simulator answers with a `Value`: nothing to gain from text.
    async fn get_text(&self, _path: &str, _params: &Params) -> Result<Option<String>> {
        Ok(None)
    }

    async fn call(&self, method: Method, path: &str, params: &Params) -> Result<Value> {
        check_path(path)?;
        check_params(params)?;
        let answer = |sim: &mut Sim| (sim.handle(method, path, params), sim.state().faults.latency_ms);
        // One lock for a normal call: a matching tool hang is counted instead of answering.
        let first = self.with_sim(|sim| super::hang::take(sim, path).ok_or_else(|| answer(sim)))?;
        let (result, latency) = match first {
            Err(done) => done,
            Ok(hang) => {
                tokio::time::sleep(std::time::Duration::from_secs(hang.seconds)).await;
                self.with_sim(answer)?
            }
        };
        if let Some(ms) = latency.filter(|ms| *ms > 0) {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        result.map_err(|e| classify_cli_error("pvesh", e.cli_exit(), &e.cli_text()))
    }

    async fn close(&self) -> Result<()> {
        Ok(())
    }
}
