//! Shared test support: drive the built `pvectl` binary, and lay out the `pve-sim` tools
//! (`pvesh`, `qm`, `pct`, `hostname` as links to `pve-sim`) with a state file and a call log.
//! Included by each integration test binary with `#[path]`.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `pvectl` binary.
pub(crate) fn pvectl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_pvectl")
}

/// The built `pve-sim` binary.
pub(crate) fn pve_sim_bin() -> &'static str {
    env!("CARGO_BIN_EXE_pve-sim")
}

/// A finished `pvectl` run.
#[derive(Debug)]
pub(crate) struct Run {
    /// Exit code.
    pub(crate) code: i32,
    /// Standard output.
    pub(crate) stdout: String,
    /// Standard error.
    pub(crate) stderr: String,
}

impl Run {
    /// stdout parsed as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    /// Asserts the exit code, showing the output when it differs.
    pub(crate) fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code; stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Builds one `pvectl` invocation.
pub(crate) struct Pvectl {
    cmd: Command,
    /// This run's own user state directory (`XDG_STATE_HOME`), removed with it; `None` when
    /// the run shares a [`SimHome`].
    state: Option<tempfile::TempDir>,
}

impl Pvectl {
    /// `pvectl` with a clean environment for its own variables, the audit log off, and a
    /// fresh user state directory of its own (`XDG_STATE_HOME`): `-t sim` starts from the
    /// demo cluster, and nothing is written to the state directory of the user running the
    /// tests. Runs that must share the simulator's state use [`SimHome::pvectl`].
    pub(crate) fn new() -> Self {
        Self::isolated(Command::new(pvectl_bin()))
    }

    /// `sh -c LINE` with the environment of [`Pvectl::new`] and the built `pvectl` first on
    /// `PATH`: a documented command line run as a user pastes it into a shell.
    pub(crate) fn shell(line: &str) -> Self {
        let dir = Path::new(pvectl_bin()).parent().expect("the binary has a directory");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", line]).env("PATH", format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default()));
        Self::isolated(cmd)
    }

    fn isolated(mut cmd: Command) -> Self {
        let state = tempfile::Builder::new().prefix("pvectl-state-").tempdir().expect("state dir");
        for v in [
            "PVECTL_TARGET",
            "PVECTL_TOOLS",
            "PVECTL_SSH_CONFIG",
            "PVE_SIM_STATE",
            "PVE_SIM_LOG",
            "PVE_SIM_NODE",
            "PVE_SIM_LATENCY_MS",
            // REST credentials and the config file: each test sets its own.
            "PROXMOX_HOST",
            "PROXMOX_TOKEN_ID",
            "PROXMOX_TOKEN_SECRET",
            "PVE_HOST",
            "PVE_USER",
            "PVE_TOKEN_ID",
            "PVE_TOKEN_SECRET",
            "PVECTL_CONFIG",
            // Snapshot naming: each test sets its own.
            "PVECTL_SNAPSHOT_TEMPLATE",
            "PVECTL_CHANGE_PREFIX",
        ] {
            cmd.env_remove(v);
        }
        // Never the user's own audit log; a test that checks the log sets its own path.
        cmd.env("PVECTL_AUDIT_LOG", "off");
        cmd.env("XDG_STATE_HOME", state.path());
        Self { cmd, state: Some(state) }
    }

    /// Uses `dir` as the user state directory (`XDG_STATE_HOME`) instead of this run's own.
    pub(crate) fn state_home(mut self, dir: &Path) -> Self {
        self.cmd.env("XDG_STATE_HOME", dir);
        self.state = None;
        self
    }

    /// Fails loudly when a helper lost the isolation: every run has a non-empty
    /// `XDG_STATE_HOME`, so `-t sim` never reads or writes the user's `~/.local/state`.
    fn assert_isolated(&self) {
        let set = self.cmd.get_envs().any(|(k, v)| k == "XDG_STATE_HOME" && v.is_some_and(|v| !v.is_empty()));
        assert!(set, "a test run of pvectl without its own XDG_STATE_HOME would use the user's state directory");
    }

    /// Adds arguments.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Adds a path argument.
    pub(crate) fn arg_path(mut self, p: &Path) -> Self {
        self.cmd.arg(p);
        self
    }

    /// Sets an environment variable.
    pub(crate) fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    /// Runs in `dir` (relative paths of the command line are there).
    pub(crate) fn current_dir(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Removes `XDG_CONFIG_HOME`, so the config file is looked up under `HOME`.
    pub(crate) fn env_remove_xdg(mut self) -> Self {
        self.cmd.env_remove("XDG_CONFIG_HOME");
        self
    }

    /// Removes `NO_COLOR`, so `--color auto` depends on the terminal alone.
    pub(crate) fn env_remove_no_color(mut self) -> Self {
        self.cmd.env_remove("NO_COLOR");
        self
    }

    /// The command, to spawn it and act on it while it runs (its own state directory is
    /// left in the temporary directory: the command outlives this builder).
    pub(crate) fn command(mut self) -> Command {
        self.assert_isolated();
        if let Some(dir) = self.state.take() {
            let _ = dir.keep();
        }
        self.cmd
    }

    /// Runs it with stdin closed.
    pub(crate) fn run(mut self) -> Run {
        self.assert_isolated();
        self.cmd.stdin(std::process::Stdio::null()).output().expect("pvectl runs").into()
    }
}

/// A user state directory shared by several `pvectl` runs, so `-t sim` remembers between
/// them (as it does for a user), starting from the demo cluster.
pub(crate) struct SimHome {
    /// Keeps the directory alive.
    pub(crate) dir: tempfile::TempDir,
}

impl SimHome {
    /// A new, empty state directory.
    pub(crate) fn new() -> Self {
        Self { dir: tempfile::Builder::new().prefix("pvectl-simhome-").tempdir().expect("state dir") }
    }

    /// `pvectl` (as [`Pvectl::new`]) with this state directory.
    pub(crate) fn pvectl(&self) -> Pvectl {
        Pvectl::new().state_home(self.dir.path())
    }

    /// The simulator's state file `-t sim` keeps here.
    pub(crate) fn state_file(&self) -> PathBuf {
        self.dir.path().join("pvectl/sim.json")
    }
}

/// A directory with the `pve-sim` tools, a state file and a call log.
pub(crate) struct SimTools {
    /// Keeps the directory alive.
    pub(crate) dir: tempfile::TempDir,
}

impl SimTools {
    /// Creates `bin/{pvesh,qm,pct,vzdump,qmrestore,hostname}` linked to `pve-sim`; the state file does not
    /// exist yet (the first call seeds it with the demo cluster).
    pub(crate) fn new() -> Self {
        Self::new_in(&std::env::temp_dir())
    }

    /// As [`SimTools::new`], in a new directory under `parent`.
    pub(crate) fn new_in(parent: &Path) -> Self {
        let dir = tempfile::Builder::new().prefix("pve-sim-tools-").tempdir_in(parent).expect("temp dir");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin dir");
        for tool in ["pvesh", "qm", "pct", "vzdump", "qmrestore", "hostname"] {
            std::os::unix::fs::symlink(pve_sim_bin(), bin.join(tool)).expect("symlink");
        }
        Self { dir }
    }

    /// The directory to put first on `PATH`.
    pub(crate) fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// `PVE_SIM_STATE`.
    pub(crate) fn state(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }

    /// `PVE_SIM_LOG`.
    pub(crate) fn log(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    /// `PATH` with the tools first.
    pub(crate) fn path_env(&self) -> String {
        format!("{}:{}", self.bin().display(), std::env::var("PATH").unwrap_or_default())
    }

    /// The logged invocations, each an argv.
    pub(crate) fn calls(&self) -> Vec<Vec<String>> {
        read_calls(&self.log())
    }

    /// Empties the call log.
    pub(crate) fn clear_log(&self) {
        let _ = std::fs::remove_file(self.log());
    }

    /// Applies the tools' environment to a `pvectl` run (local target).
    pub(crate) fn apply(&self, p: Pvectl) -> Pvectl {
        p.env("PATH", self.path_env()).env("PVE_SIM_STATE", self.state()).env("PVE_SIM_LOG", self.log())
    }
}

/// Reads a `PVE_SIM_LOG`: one JSON array of argv per line.
pub(crate) fn read_calls(log: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?} is not a JSON argv: {e}")))
        .collect()
}

/// A running `pve-sim serve --tls` on 127.0.0.1 (killed on drop).
pub(crate) struct SimServer {
    child: std::process::Child,
    /// `https://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// The certificate's SHA-256 fingerprint as printed (`AA:BB:...`).
    pub(crate) fingerprint: String,
}

impl SimServer {
    /// Starts the REST face over the state file `state` (created from the demo on first use),
    /// logging requests to `log`.
    pub(crate) fn start(state: &Path, log: &Path) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(pve_sim_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--tls", "--state"])
            .arg(state)
            .env("PVE_SIM_LOG", log)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("pve-sim serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut fingerprint = String::new();
        let mut url = String::new();
        while url.is_empty() {
            let line = lines.next().expect("pve-sim serve prints its address").expect("readable");
            if let Some(f) = line.strip_prefix("fingerprint ") {
                f.trim().clone_into(&mut fingerprint);
            } else if let Some(a) = line.strip_prefix("listening ") {
                url = format!("https://{}", a.trim());
            }
        }
        assert!(!fingerprint.is_empty(), "a --tls server prints its fingerprint");
        Self { child, url, fingerprint }
    }

    /// A `0600` file holding the demo's full-privilege token secret, and its token id.
    pub(crate) fn root_token(dir: &Path) -> (String, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let (id, secret) = pvectl::backend::sim::DEMO_TOKENS[0];
        let path = dir.join("token.secret");
        std::fs::write(&path, secret).expect("write secret");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
        (id.to_owned(), path)
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
