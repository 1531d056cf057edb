//! A real OpenSSH server on 127.0.0.1 for end-to-end tests (DESIGN.md §6).
//!
//! [`Sshd::start`] runs Debian's `/usr/sbin/sshd` in the foreground on a free port, inside a
//! private [`TempDir`] holding everything the server and its clients need: a generated
//! ed25519 host key and client key, `authorized_keys`, a `known_hosts` that pins the host
//! key, and an ssh client config with a [`Sshd::ALIAS`] entry. Nothing of the machine's own
//! ssh setup is read or written, so a test passes `-F <config>` (or
//! `SshOptions::config_file`) and connects with `StrictHostKeyChecking yes`.
//!
//! The session environment comes from one `SetEnv` line in `sshd_config` (sshd keeps only
//! the first such line), which overrides sshd's default `PATH` (checked on OpenSSH 9.2).
//! `HOME` is pointed into the temp dir as well: bash, run by sshd, sources `~/.bashrc`, and
//! a root `.bashrc` that prepends `~/.cargo/bin` to `PATH` would otherwise put the machine's
//! tools ahead of the test's.
//!
//! A second server started with [`Sshd::start_jump`] acts as a jump host:
//! [`client_config_with_jump`] writes a config whose [`VIA_JUMP_ALIAS`] reaches the target
//! through `ProxyJump`. OpenSSH passes `-F` on to the jump connection's inner `ssh`, so both
//! hops read the same file.
//!
//! Tests run as root in CI. Run by another user, sshd can only log that user in, so the
//! login user is whoever runs the tests.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The sshd binary from Debian's `openssh-server`.
pub(crate) const SSHD: &str = "/usr/sbin/sshd";

/// The alias reaching the target through the jump host, in [`client_config_with_jump`].
pub(crate) const VIA_JUMP_ALIAS: &str = "pve-e2e-via-jump";

/// How long sshd may take to start listening before the harness gives up.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// What a test server provides to its sessions.
#[derive(Debug, Clone, Default)]
pub(crate) struct SshdOptions {
    /// Environment of every session, as `SetEnv NAME=value` (e.g. `PATH`, `PVE_SIM_STATE`).
    /// `HOME` defaults to an empty directory in the temp dir.
    pub(crate) env: Vec<(String, String)>,
    /// Log each accepted login (`LogLevel INFO`, for [`Sshd::accepted`]); otherwise the log
    /// holds errors only (`LogLevel ERROR`), so an empty log means none.
    pub(crate) log_logins: bool,
}

/// A running sshd, killed with the sessions it serves when dropped.
#[derive(Debug)]
pub(crate) struct Sshd {
    dir: TempDir,
    port: u16,
    user: String,
    alias: &'static str,
    child: Child,
}

impl Sshd {
    /// The alias of this server in its own [`Sshd::config_path`].
    pub(crate) const ALIAS: &'static str = "pve-e2e";
    /// The alias of a jump host in its own config and in [`client_config_with_jump`].
    pub(crate) const JUMP_ALIAS: &'static str = "pve-e2e-jump";

    /// Starts a server whose sessions see `opts.env`.
    ///
    /// # Panics
    /// When `/usr/sbin/sshd` is missing (run `scripts/test.sh`, which installs it), or the
    /// server does not come up; the panic carries sshd's stderr.
    #[expect(clippy::needless_pass_by_value, reason = "callers build the options inline: `Sshd::start(SshdOptions { .. })`")]
    pub(crate) fn start(opts: SshdOptions) -> Self {
        Self::start_as(&opts, Self::ALIAS)
    }

    /// Starts a plain server meant as a `ProxyJump` hop (alias [`Sshd::JUMP_ALIAS`]).
    ///
    /// # Panics
    /// As [`Sshd::start`].
    pub(crate) fn start_jump() -> Self {
        Self::start_as(&SshdOptions::default(), Self::JUMP_ALIAS)
    }

    fn start_as(opts: &SshdOptions, alias: &'static str) -> Self {
        assert!(Path::new(SSHD).exists(), "{SSHD} is missing: install openssh-server (scripts/test.sh does it when run as root)");
        let dir = tempfile::Builder::new().prefix("pvectl-sshd-").tempdir().expect("create the sshd temp dir");
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("id_ed25519"));
        std::fs::copy(d.join("id_ed25519.pub"), d.join("authorized_keys")).expect("write authorized_keys");
        std::fs::create_dir(d.join("home")).expect("create the session home");
        let user = current_user();
        // A port is only free until someone else binds it: retry on a lost race.
        let mut last_err = String::new();
        for _ in 0..3 {
            let port = free_port();
            write_sshd_config(d, port, opts);
            match spawn_and_wait(d, port) {
                Ok(child) => {
                    let sshd = Self { dir, port, user, alias, child };
                    sshd.write_client_files();
                    return sshd;
                }
                Err(e) => last_err = e,
            }
        }
        panic!("sshd did not start:\n{last_err}");
    }

    /// The listening port on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// How many connections the server holds open now (one process each).
    pub(crate) fn connections(&self) -> usize {
        children_of(self.child.id()).len()
    }

    /// How many logins the server has accepted so far (`Accepted publickey` lines of its
    /// log; started with `log_logins`): one per SSH connection, however short-lived.
    pub(crate) fn accepted(&self) -> usize {
        std::fs::read_to_string(self.log_path()).unwrap_or_default().lines().filter(|l| l.contains("Accepted publickey for ")).count()
    }

    /// The login user (root in CI, else whoever runs the tests).
    pub(crate) fn user(&self) -> &str {
        &self.user
    }

    /// This server's alias in [`Sshd::config_path`] ([`Sshd::ALIAS`] or [`Sshd::JUMP_ALIAS`]).
    pub(crate) fn alias(&self) -> &'static str {
        self.alias
    }

    /// The temp dir holding keys, configs and logs.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// An ssh client config (`ssh -F`) with a `Host` entry for [`Sshd::alias`] and
    /// `127.0.0.1` (so [`Sshd::ssh_target`] works with it too).
    pub(crate) fn config_path(&self) -> PathBuf {
        self.dir().join("ssh_config")
    }

    /// A `known_hosts` holding this server's key for `[127.0.0.1]:PORT` and its alias.
    pub(crate) fn known_hosts_path(&self) -> PathBuf {
        self.dir().join("known_hosts")
    }

    /// The client's private key, authorised for [`Sshd::user`].
    pub(crate) fn key_path(&self) -> PathBuf {
        self.dir().join("id_ed25519")
    }

    /// The server's public host key line (`ssh-ed25519 AAAA...`).
    pub(crate) fn host_public_key(&self) -> String {
        let text = std::fs::read_to_string(self.dir().join("host_key.pub")).expect("read the host public key");
        text.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
    }

    /// sshd's own log (`-e` sends it to stderr, which goes here).
    pub(crate) fn log_path(&self) -> PathBuf {
        self.dir().join("sshd.log")
    }

    /// The pvectl target for this server: `ssh://USER@127.0.0.1:PORT`.
    pub(crate) fn ssh_target(&self) -> String {
        format!("ssh://{}@127.0.0.1:{}", self.user, self.port)
    }

    /// `ssh -F <config> <alias>`, ready for a remote command to be appended.
    pub(crate) fn ssh_command(&self) -> Command {
        let mut c = Command::new("ssh");
        c.arg("-F").arg(self.config_path()).arg(self.alias);
        c.stdin(Stdio::null());
        c
    }

    /// The client config block for the `Host` patterns `hosts`, optionally through
    /// `proxy_jump`.
    fn host_block(&self, hosts: &str, proxy_jump: Option<&str>) -> String {
        let d = self.dir().display();
        let mut b = format!(
            "Host {hosts}\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {d}/id_ed25519\n  \
             IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n  \
             StrictHostKeyChecking yes\n  BatchMode yes\n",
            self.port, self.user
        );
        if let Some(j) = proxy_jump {
            writeln!(b, "  ProxyJump {j}").expect("write to a String");
        }
        b
    }

    fn write_client_files(&self) {
        let key = self.host_public_key();
        let known = format!("[127.0.0.1]:{} {key}\n{} {key}\n{VIA_JUMP_ALIAS} {key}\n", self.port, self.alias);
        std::fs::write(self.known_hosts_path(), known).expect("write known_hosts");
        // `127.0.0.1` matches too, so `ssh_target()` with this config finds key and known_hosts.
        let hosts = format!("{} 127.0.0.1", self.alias);
        std::fs::write(self.config_path(), self.host_block(&hosts, None)).expect("write the ssh client config");
    }

    /// Sends SIGTERM to `pids` (the connection processes this sshd forked).
    fn terminate(pids: &[u32]) {
        if pids.is_empty() {
            return;
        }
        let _ = Command::new("kill").arg("-TERM").args(pids.iter().map(u32::to_string)).stderr(Stdio::null()).status();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // sshd -D forks a process per connection in its own session; killing the listener
        // alone would leave them (and the clients' masters) running. End them by pid first.
        Self::terminate(&children_of(self.child.id()));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a client config in `target`'s dir in which [`VIA_JUMP_ALIAS`] reaches `target`
/// through `jump` (`ProxyJump` [`Sshd::JUMP_ALIAS`]); both hops use their own key and
/// `known_hosts`. Returns the config's path.
pub(crate) fn client_config_with_jump(target: &Sshd, jump: &Sshd) -> PathBuf {
    let text = format!("{}\n{}", target.host_block(VIA_JUMP_ALIAS, Some(Sshd::JUMP_ALIAS)), jump.host_block(Sshd::JUMP_ALIAS, None));
    let path = target.dir().join(format!("ssh_config_via_{}", jump.port()));
    std::fs::write(&path, text).expect("write the jump client config");
    path
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", "ed25519", "-C", "pvectl-e2e", "-f"])
        .arg(path)
        .output()
        .expect("run ssh-keygen (openssh-client)");
    assert!(out.status.success(), "ssh-keygen failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    l.local_addr().expect("read the bound port").port()
}

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    let user = String::from_utf8(out.stdout).expect("user name is UTF-8").trim().to_owned();
    assert!(out.status.success() && !user.is_empty(), "id -un failed");
    user
}

fn write_sshd_config(d: &Path, port: u16, opts: &SshdOptions) {
    let p = d.display();
    let level = if opts.log_logins { "INFO" } else { "ERROR" };
    let mut c = format!(
        "ListenAddress 127.0.0.1\nPort {port}\nHostKey {p}/host_key\nAuthorizedKeysFile {p}/authorized_keys\n\
         PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
         UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\nPidFile {p}/sshd.pid\n\
         LogLevel {level}\nMaxStartups 100\nMaxSessions 100\n"
    );
    let mut env = opts.env.clone();
    if !env.iter().any(|(k, _)| k == "HOME") {
        env.push(("HOME".into(), format!("{p}/home")));
    }
    // sshd keeps only the first `SetEnv` line, so every variable goes on one.
    c.push_str("SetEnv");
    for (k, v) in &env {
        assert!(!k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "bad environment variable name {k:?}");
        assert!(!v.contains(['"', '\n', '\\']), "SetEnv value {v:?} cannot hold quotes, backslashes or newlines");
        write!(c, " {k}=\"{v}\"").expect("write to a String");
    }
    c.push('\n');
    std::fs::write(d.join("sshd_config"), c).expect("write sshd_config");
}

/// Starts sshd on `port` and waits until it listens; on failure, sshd's stderr.
fn spawn_and_wait(d: &Path, port: u16) -> Result<Child, String> {
    let _ = std::fs::remove_file(d.join("sshd.pid"));
    let log = std::fs::File::create(d.join("sshd.log")).expect("create the sshd log");
    let mut child = Command::new(SSHD)
        .arg("-D")
        .arg("-e")
        .arg("-f")
        .arg(d.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("failed to run {SSHD}: {e}"))?;
    let read_log = || std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default();
    // sshd writes its pid file once it listens. Waiting for our own pid there, rather than
    // for the port to answer, cannot be fooled by another process that took the port.
    let pid_file = d.join("sshd.pid");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("sshd exited with {status}:\n{}", read_log()));
        }
        let pid = std::fs::read_to_string(&pid_file).ok().and_then(|t| t.trim().parse::<u32>().ok());
        if pid == Some(child.id()) {
            return Ok(child);
        }
        if start.elapsed() > START_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("sshd did not listen on port {port} within {START_TIMEOUT:?}:\n{}", read_log()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The pids whose parent is `pid`, from `/proc/*/stat`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { return false };
            // Fields after the parenthesised command name: state, ppid, ...
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            after.split_whitespace().nth(1).and_then(|s| s.parse::<u32>().ok()) == Some(pid)
        })
        .collect()
}
