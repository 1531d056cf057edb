//! The `pve-sim` tools' process environment: the state file (`PVE_SIM_STATE`, locked for
//! the whole load-handle-save), the call log (`PVE_SIM_LOG`), the simulated latency
//! (`PVE_SIM_LATENCY_MS`) and the node the tools run on (`PVE_SIM_NODE`); and where
//! `pvectl -t sim` keeps its state between runs ([`sim_state_file`]): `PVE_SIM_STATE`, else
//! `sim.json` in the user's state directory, under the same lock as the tools' file.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt as _;

use super::core::Sim;
use super::demo::demo_state;
use super::state::SimState;

/// What the environment tells the `pve-sim` tools.
#[derive(Debug, Clone, Default)]
pub struct SimEnv {
    /// `PVE_SIM_STATE`: the JSON state file; `None` = the in-memory demo state, not saved.
    pub state_path: Option<PathBuf>,
    /// `PVE_SIM_LOG`: file that gets one JSON array line per invocation.
    pub log_path: Option<PathBuf>,
    /// `PVE_SIM_LATENCY_MS`: milliseconds to sleep per tool invocation.
    pub latency_ms: Option<u64>,
    /// `PVE_SIM_NODE`: the node `qm`, `pct` and `hostname` run on (default: the first node).
    pub node: Option<String>,
}

impl SimEnv {
    /// Reads the `PVE_SIM_*` variables; empty values count as unset.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        Self {
            state_path: var("PVE_SIM_STATE").map(PathBuf::from),
            log_path: var("PVE_SIM_LOG").map(PathBuf::from),
            latency_ms: var("PVE_SIM_LATENCY_MS").and_then(|v| v.to_str().and_then(|s| s.trim().parse().ok())),
            node: var("PVE_SIM_NODE").and_then(|v| v.into_string().ok()),
        }
    }
}

/// Where `pvectl -t sim` and `pvectl sim ...` keep the simulator's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimStateFile {
    /// `PVE_SIM_STATE` names the file (shared with the `pve-sim` tools that get the same
    /// variable); it wins over the user's state directory.
    Env(PathBuf),
    /// `$XDG_STATE_HOME/pvectl/sim.json`, else `$HOME/.local/state/pvectl/sim.json`.
    User(PathBuf),
}

impl SimStateFile {
    /// The file.
    pub fn path(&self) -> &Path {
        match self {
            Self::Env(p) | Self::User(p) => p,
        }
    }

    /// Where the name came from: `PVE_SIM_STATE` or `user state directory`.
    pub fn source(&self) -> &'static str {
        match self {
            Self::Env(_) => "PVE_SIM_STATE",
            Self::User(_) => "user state directory",
        }
    }
}

/// The simulator's state file as the environment `var` names it: `PVE_SIM_STATE`, else
/// `$XDG_STATE_HOME/pvectl/sim.json`, else `$HOME/.local/state/pvectl/sim.json` (empty
/// variables count as unset, as for the audit log); `None` when none of them is set.
pub fn sim_state_file(var: &dyn Fn(&str) -> Option<OsString>) -> Option<SimStateFile> {
    let var = |k: &str| var(k).filter(|v| !v.is_empty());
    if let Some(p) = var("PVE_SIM_STATE") {
        return Some(SimStateFile::Env(PathBuf::from(p)));
    }
    var("XDG_STATE_HOME")
        .map(|d| PathBuf::from(d).join("pvectl/sim.json"))
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/state/pvectl/sim.json")))
        .map(SimStateFile::User)
}

/// [`sim_state_file`] of the process environment, with the directory of a user state file
/// created (mode 0700, as the audit log's) when missing. A `PVE_SIM_STATE` directory is
/// never created: whoever names the file owns its directory.
///
/// # Errors
/// A message naming the directory when it cannot be created.
pub fn sim_state_file_from_env() -> Result<Option<SimStateFile>, String> {
    let file = sim_state_file(&|k| std::env::var_os(k));
    if let Some(SimStateFile::User(path)) = &file
        && let Some(dir) = path.parent().filter(|d| !d.exists())
    {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| {
            format!("cannot create the simulator's state directory {}: {e} (set PVE_SIM_STATE to a writable file)", dir.display())
        })?;
    }
    Ok(file)
}

/// The lock file next to a state file: `<file>.lock`.
fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".lock");
    state.with_file_name(name)
}

/// Runs `f` on the simulator with the environment's state: the file at `state_path` under
/// an exclusive lock of `<file>.lock` (created from the demo state when missing, saved
/// afterwards only if `f` changed it), or the in-memory demo state.
///
/// # Errors
/// A message when the state file cannot be locked, read, parsed or written.
pub fn with_state<R>(env: &SimEnv, f: impl FnOnce(&mut Sim) -> R) -> Result<R, String> {
    let Some(path) = &env.state_path else {
        let mut sim = Sim::new(demo_state()).with_local_node(env.node.clone());
        return Ok(f(&mut sim));
    };
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(path))
        .map_err(|e| format!("cannot open lock file for {}: {e}", path.display()))?;
    lock.lock_exclusive().map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    let (state, created) = if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let state: SimState = serde_json::from_str(&text).map_err(|e| format!("{} is not a simulator state: {e}", path.display()))?;
        (state, false)
    } else {
        (demo_state(), true)
    };
    let mut sim = Sim::new(state).with_local_node(env.node.clone());
    let out = f(&mut sim);
    if created || sim.generation() > 0 {
        save_state(path, sim.state())?;
    }
    drop(lock);
    Ok(out)
}

/// Replaces the state in `path` with `state` under the state file's lock, whatever the file
/// holds now (also a file that is not a simulator state).
///
/// # Errors
/// A message when the file cannot be locked or written.
pub fn replace_state(path: &Path, state: &SimState) -> Result<(), String> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(path))
        .map_err(|e| format!("cannot open lock file for {}: {e}", path.display()))?;
    lock.lock_exclusive().map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    let saved = save_state(path, state);
    drop(lock);
    saved
}

/// Writes `state` to `path` atomically (a temporary sibling, mode 0600, renamed over it).
///
/// # Errors
/// A message naming the file.
pub fn save_state(path: &Path, state: &SimState) -> Result<(), String> {
    let text = serde_json::to_string(state).map_err(|e| format!("cannot serialise the state: {e}"))?;
    let mut tmp_name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    file.write_all(text.as_bytes()).and_then(|()| file.write_all(b"\n")).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))
}

/// Appends `argv` as one JSON array line to the log, in one `write` on an `O_APPEND` file
/// so concurrent invocations never interleave.
///
/// # Errors
/// A message naming the log file.
pub fn append_log(log: &Path, argv: &[String]) -> Result<(), String> {
    let mut line = serde_json::to_string(argv).map_err(|e| format!("cannot encode the log line: {e}"))?;
    line.push('\n');
    let mut f = OpenOptions::new().create(true).append(true).open(log).map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    f.write_all(line.as_bytes()).map_err(|e| format!("cannot write {}: {e}", log.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::api::{Method, Params};

    #[test]
    fn creates_the_state_file_and_saves_only_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let env = SimEnv { state_path: Some(path.clone()), ..SimEnv::default() };
        let v = with_state(&env, |sim| sim.handle(Method::Get, "/version", &Params::new())).expect("runs");
        assert!(v.is_ok());
        assert!(path.exists(), "created from the demo state");
        assert!(dir.path().join("state.json.lock").exists());
        let before = std::fs::metadata(&path).and_then(|m| m.modified()).expect("mtime");
        std::thread::sleep(std::time::Duration::from_millis(20));
        with_state(&env, |sim| sim.state().guests.len()).expect("runs");
        assert_eq!(std::fs::metadata(&path).and_then(|m| m.modified()).expect("mtime"), before, "unchanged state is not rewritten");
        with_state(&env, |sim| sim.state_mut().cluster_name = "changed".into()).expect("runs");
        let loaded: SimState = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("parse");
        assert_eq!(loaded.cluster_name, "changed");
    }

    #[test]
    fn the_lock_serialises_load_handle_save() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = SimEnv { state_path: Some(dir.path().join("state.json")), ..SimEnv::default() };
        let env_a = env.clone();
        let slow = std::thread::spawn(move || {
            with_state(&env_a, |sim| {
                std::thread::sleep(std::time::Duration::from_millis(200));
                sim.state_mut().cluster_name.push('a');
            })
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        with_state(&env, |sim| sim.state_mut().cluster_name.push('b')).expect("runs");
        slow.join().expect("thread").expect("runs");
        let name = with_state(&env, |sim| sim.state().cluster_name.clone()).expect("runs");
        assert_eq!(name, "demoab", "no lost update: the second run waited for the first");
    }

    #[test]
    fn pve_sim_state_wins_then_xdg_then_home() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| OsString::from(v))
        };
        let all = vars(&[("PVE_SIM_STATE", "/s/state.json"), ("XDG_STATE_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(sim_state_file(&all), Some(SimStateFile::Env("/s/state.json".into())));
        let xdg = vars(&[("PVE_SIM_STATE", ""), ("XDG_STATE_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(sim_state_file(&xdg), Some(SimStateFile::User("/x/pvectl/sim.json".into())), "empty counts as unset");
        let home = vars(&[("XDG_STATE_HOME", ""), ("HOME", "/h")]);
        assert_eq!(sim_state_file(&home), Some(SimStateFile::User("/h/.local/state/pvectl/sim.json".into())));
        assert_eq!(sim_state_file(&vars(&[])), None);
    }

    #[test]
    fn replace_runs_under_the_lock_and_saves_privately() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sim.json");
        let env = SimEnv { state_path: Some(path.clone()), ..SimEnv::default() };
        with_state(&env, |sim| sim.state_mut().cluster_name = "edited".into()).expect("edits");
        let loaded: SimState = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("parse");
        assert_eq!(loaded.cluster_name, "edited");
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        std::fs::write(&path, "not json").expect("garble");
        replace_state(&path, &demo_state()).expect("replaces even a garbled file");
        let loaded: SimState = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("parse");
        assert_eq!(loaded, demo_state());
    }

    #[test]
    fn log_lines_are_json_arrays() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("calls.log");
        append_log(&log, &["qm".into(), "list".into()]).expect("append");
        append_log(&log, &["pvesh".into(), "get".into(), "/a b".into()]).expect("append");
        assert_eq!(std::fs::read_to_string(&log).expect("read"), "[\"qm\",\"list\"]\n[\"pvesh\",\"get\",\"/a b\"]\n");
    }
}
