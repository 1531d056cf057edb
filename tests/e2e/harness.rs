//! Self-tests of the sshd harness, through the plain `ssh` client and through pvectl's own
//! SSH runner: the session environment, argument quoting, master reuse, `ProxyJump`, and how
//! connection failures are reported.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pvectl::Error;
use pvectl::backend::command::{HostKeyPolicy, Runner, SshOptions, SshRunner};
use tempfile::TempDir;

use crate::sshd::{Sshd, SshdOptions, VIA_JUMP_ALIAS, client_config_with_jump};

/// An argument every shell would mangle if it were not escaped exactly once.
const HOSTILE: &str = "a b'c\";d $(touch /tmp/pvectl-e2e-pwned) `touch /tmp/pvectl-e2e-pwned` \\ * ~ \t";

/// Options for `host` as defined in `config`, with defaults otherwise.
fn options(host: &str, config: &Path, persist: Option<Duration>) -> SshOptions {
    SshOptions {
        user: None,
        host: host.to_owned(),
        port: None,
        config_file: Some(config.to_path_buf()),
        host_keys: HostKeyPolicy::Strict,
        persist,
        connect_timeout: Duration::from_secs(5),
        sudo: false,
    }
}

/// A private (0700) control-socket dir for one test, passed explicitly (no process-global
/// env). The runner refuses a control directory open to group or others, and `tempfile`
/// creates directories with the umask's mode.
pub(crate) fn runtime_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("pvectl-rt-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .expect("create a runtime dir")
}

/// Creates `dir` mode 0700, as the runner requires of a control directory.
fn private_dir(dir: &Path) {
    std::fs::DirBuilder::new().mode(0o700).create(dir).expect("mkdir 0700");
}

/// `ssh -O check` on a control socket: the master's pid.
fn master_pid(socket: &Path) -> Option<u32> {
    let out = std::process::Command::new("ssh").args(["-O", "check", "-S"]).arg(socket).arg("unused").output().expect("run ssh -O check");
    let text = String::from_utf8_lossy(&out.stderr);
    let pid = text.split("pid=").nth(1)?.split(')').next()?;
    pid.parse().ok()
}

/// Whether `pid` runs: exists and is not a zombie waiting for init to reap it (the master
/// forked away from its parent, so init is its parent now).
fn pid_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    state != Some("Z")
}

/// Polls `cond` for up to five seconds.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(5), "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn assert_hostile_round_trip(runner: &Runner) {
    let out = runner.run("printf", &["%s".into(), HOSTILE.into()]).await.expect("printf runs over ssh");
    assert_eq!(out.status, 0, "stderr: {}", out.stderr_text());
    assert_eq!(String::from_utf8_lossy(&out.stdout), HOSTILE);
    assert!(!Path::new("/tmp/pvectl-e2e-pwned").exists(), "the remote shell ran part of an argument");
}

#[test]
fn session_path_starts_with_the_injected_dir_and_finds_the_tools() {
    let tools = crate::support::SimTools::new();
    let bin = tools.bin();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let sshd = Sshd::start(SshdOptions {
        env: vec![("PATH".into(), path.clone()), ("PVE_SIM_STATE".into(), "/x y".into())],
        ..SshdOptions::default()
    });

    let out = sshd
        .ssh_command()
        .arg("printenv PATH; printenv PVE_SIM_STATE; command -v pvesh qm pct vzdump qmrestore hostname")
        .output()
        .expect("run ssh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ssh failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], path, "the session PATH is exactly the injected one");
    assert_eq!(lines[1], "/x y");
    for (line, tool) in lines[2..].iter().zip(["pvesh", "qm", "pct", "vzdump", "qmrestore", "hostname"]) {
        assert_eq!(*line, bin.join(tool).display().to_string());
    }
    let log = std::fs::read_to_string(sshd.log_path()).expect("read the sshd log");
    assert!(log.is_empty(), "sshd logged errors: {log}");
}

#[test]
fn key_and_known_hosts_work_without_the_config() {
    let sshd = Sshd::start(SshdOptions::default());
    let out = std::process::Command::new("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", sshd.known_hosts_path().display()))
        .arg("-i")
        .arg(sshd.key_path())
        .args(["-p", &sshd.port().to_string(), "-l", sshd.user(), "127.0.0.1", "echo", "ok"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ssh");
    assert!(out.status.success(), "ssh failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
    assert_eq!(sshd.alias(), Sshd::ALIAS);
}

#[tokio::test]
async fn runner_passes_a_hostile_argument_as_one_argument() {
    let sshd = Sshd::start(SshdOptions::default());
    let rt = runtime_dir();
    // The pvectl target form, with the harness config supplying key and known_hosts.
    let mut opts = SshOptions::parse_target(&sshd.ssh_target()).expect("a valid target");
    opts.config_file = Some(sshd.config_path());
    opts.persist = None;
    let runner = Runner::Ssh(SshRunner::connect_in(opts, rt.path()).await.expect("connect"));
    assert_hostile_round_trip(&runner).await;
    let out = runner.run("sh", &["-c".into(), "exit 7".into()]).await.expect("sh runs");
    assert_eq!(out.status, 7, "the remote exit code comes back");
    runner.close().await.expect("close");
}

#[tokio::test]
async fn persistent_master_is_resumed_and_private_one_is_closed() {
    let sshd = Sshd::start(SshdOptions::default());
    let rt = runtime_dir();
    let persist = Some(Duration::from_secs(30));

    let first = SshRunner::connect_in(options(Sshd::ALIAS, &sshd.config_path(), persist), rt.path()).await.expect("connect");
    let socket = first.socket().to_path_buf();
    let pid = master_pid(&socket).expect("a master answers on the socket");
    first.close().await.expect("close keeps a persistent master");
    assert_eq!(master_pid(&socket), Some(pid), "a persistent master outlives close()");

    let second = SshRunner::connect_in(options(Sshd::ALIAS, &sshd.config_path(), persist), rt.path()).await.expect("reconnect");
    assert_eq!(second.socket(), socket);
    assert_eq!(master_pid(&socket), Some(pid), "the second connect resumed the first master");
    assert_eq!(sshd.connections(), 1, "one TCP connection for both runners");
    second.run("true", &[]).await.expect("run on the resumed master");
    // End the persistent master so it does not outlive the test.
    let out = std::process::Command::new("ssh").args(["-O", "exit", "-S"]).arg(&socket).arg("unused").output().expect("ssh -O exit");
    assert!(out.status.success());

    let private = SshRunner::connect_in(options(Sshd::ALIAS, &sshd.config_path(), None), rt.path()).await.expect("connect");
    let socket = private.socket().to_path_buf();
    let pid = master_pid(&socket).expect("a private master runs");
    private.run("true", &[]).await.expect("run");
    private.close().await.expect("close");
    eventually("the private master has exited", || !pid_alive(pid));
    assert!(!socket.exists(), "close() removes the private socket");
    eventually("sshd has no connection left", || sshd.connections() == 0);

    // Dropped without close() (an early return): the private master still goes.
    let dropped = SshRunner::connect_in(options(Sshd::ALIAS, &sshd.config_path(), None), rt.path()).await.expect("connect");
    let socket = dropped.socket().to_path_buf();
    let pid = master_pid(&socket).expect("a private master runs");
    drop(dropped);
    eventually("the dropped runner's master has exited", || !pid_alive(pid));
    assert!(!socket.exists(), "drop removes the private socket");
}

#[tokio::test]
async fn runner_goes_through_a_jump_host() {
    let jump = Sshd::start_jump();
    let target = Sshd::start(SshdOptions::default());
    let config = client_config_with_jump(&target, &jump);
    let rt = runtime_dir();
    let runner = Runner::Ssh(SshRunner::connect_in(options(VIA_JUMP_ALIAS, &config, None), rt.path()).await.expect("connect via jump"));
    assert_hostile_round_trip(&runner).await;
    assert_eq!(jump.connections(), 1, "the connection went through the jump host");
    let out = runner.run("sh", &["-c".into(), "echo $SSH_CONNECTION".into()]).await.expect("run");
    let conn = String::from_utf8_lossy(&out.stdout);
    assert!(conn.trim_end().ends_with(&format!(" {}", target.port())), "reached the target: {conn}");
    runner.close().await.expect("close");
}

/// Connects and expects a transport error whose message holds `reason`.
async fn expect_transport_error(opts: SshOptions, reason: &str) {
    let rt = runtime_dir();
    let err = SshRunner::connect_in(opts, rt.path()).await.expect_err("the connection must fail");
    assert!(matches!(err, Error::Transport { .. }), "not a transport error: {err:?}");
    assert_eq!(err.exit_code(), 9);
    assert!(err.to_string().contains(reason), "message lacks {reason:?}: {err}");
    // The lock file of a persistent master stays (removing it would race); nothing else.
    let left: Vec<PathBuf> = std::fs::read_dir(rt.path())
        .expect("read runtime dir")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_none_or(|x| x != "lock"))
        .collect();
    assert!(left.is_empty(), "a failed connect leaves no socket or log behind: {left:?}");
}

#[tokio::test]
async fn refused_port_is_a_transport_error_with_ssh_reason() {
    let sshd = Sshd::start(SshdOptions::default());
    let dead_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut opts = options("127.0.0.1", &sshd.config_path(), None);
    opts.port = Some(dead_port);
    opts.user = Some(sshd.user().to_owned());
    expect_transport_error(opts, "Connection refused").await;
}

#[tokio::test]
async fn changed_host_key_is_a_transport_error_with_ssh_reason() {
    let sshd = Sshd::start(SshdOptions::default());
    let other = Sshd::start_jump();
    // Pin the other server's key for this one's address.
    std::fs::write(sshd.known_hosts_path(), format!("[127.0.0.1]:{} {}\n", sshd.port(), other.host_public_key()))
        .expect("write known_hosts");
    expect_transport_error(options(Sshd::ALIAS, &sshd.config_path(), None), "Host key verification failed").await;
}

#[tokio::test]
async fn changed_jump_host_key_is_a_transport_error_with_ssh_reason() {
    let jump = Sshd::start_jump();
    let target = Sshd::start(SshdOptions::default());
    let config = client_config_with_jump(&target, &jump);
    std::fs::write(jump.known_hosts_path(), format!("[127.0.0.1]:{} {}\n", jump.port(), target.host_public_key()))
        .expect("write known_hosts");
    // A private master keeps the hop's stderr; a persistent one (ControlPersist) loses it
    // and the runner asks again without multiplexing.
    for persist in [None, Some(Duration::from_secs(30))] {
        expect_transport_error(options(VIA_JUMP_ALIAS, &config, persist), "Host key verification failed").await;
    }
}

#[tokio::test]
async fn concurrent_connects_share_one_master() {
    let sshd = Sshd::start(SshdOptions::default());
    let rt = runtime_dir();
    let persist = Some(Duration::from_secs(30));
    let connect = || SshRunner::connect_in(options(Sshd::ALIAS, &sshd.config_path(), persist), rt.path());
    let (a, b, c, d) = tokio::join!(connect(), connect(), connect(), connect());
    let runners = [a, b, c, d].map(|r| r.expect("connect"));
    for r in &runners {
        r.run("true", &[]).await.expect("run");
    }
    let socket = runners[0].socket().to_path_buf();
    let pid = master_pid(&socket).expect("a master runs");
    // Give a leaked master time to show up as a second TCP connection.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sshd.connections(), 1, "four connects, one master");
    let out = std::process::Command::new("ssh").args(["-O", "exit", "-S"]).arg(&socket).arg("unused").output().expect("ssh -O exit");
    assert!(out.status.success());
    eventually("the master has exited", || !pid_alive(pid));
    eventually("sshd has no connection left", || sshd.connections() == 0);
}

#[tokio::test]
async fn runtime_dir_with_space_and_percent_works_and_too_deep_is_refused() {
    let sshd = Sshd::start(SshdOptions::default());
    let rt = runtime_dir();
    let odd = rt.path().join("a b%h");
    private_dir(&odd);
    let r = SshRunner::connect_in(options(Sshd::ALIAS, &sshd.config_path(), None), &odd).await.expect("connect");
    assert!(r.socket().starts_with(&odd));
    r.run("true", &[]).await.expect("run");
    r.close().await.expect("close");

    let deep = rt.path().join("x".repeat(100));
    private_dir(&deep);
    let err = SshRunner::connect_in(options(Sshd::ALIAS, &sshd.config_path(), None), &deep).await.expect_err("too deep");
    assert!(err.to_string().contains("PVECTL_RUNTIME_DIR"), "{err}");
    assert_eq!(err.exit_code(), 9);
}

/// The point of persistence, counted at the server rather than timed: a fresh master is one
/// new SSH connection, and a runner that resumes it opens none.
#[tokio::test]
async fn resuming_a_master_opens_no_connection() {
    const ROUNDS: usize = 3;
    let sshd = Sshd::start(SshdOptions { log_logins: true, ..SshdOptions::default() });
    let plain = sshd.ssh_command().arg("true").output().expect("run ssh");
    assert!(plain.status.success());
    assert_eq!(sshd.accepted(), 1, "the server logs each accepted login");
    let rt = runtime_dir();
    let persist = Some(Duration::from_secs(30));
    for round in 0..ROUNDS {
        let before = sshd.accepted();
        let r = SshRunner::connect_in(options(Sshd::ALIAS, &sshd.config_path(), persist), rt.path()).await.expect("connect");
        r.run("true", &[]).await.expect("run");
        assert_eq!(sshd.accepted(), before + 1, "round {round}: a fresh master is one connection");
        let socket = r.socket().to_path_buf();
        let r = SshRunner::connect_in(options(Sshd::ALIAS, &sshd.config_path(), persist), rt.path()).await.expect("resume");
        r.run("true", &[]).await.expect("run");
        assert_eq!(r.socket(), socket, "round {round}: the same control socket");
        assert_eq!(sshd.accepted(), before + 1, "round {round}: resuming the master opened no connection");
        let out = std::process::Command::new("ssh").args(["-O", "exit", "-S"]).arg(&socket).arg("unused").output().expect("ssh -O exit");
        assert!(out.status.success());
        eventually("the master has exited", || !socket.exists());
    }
}
