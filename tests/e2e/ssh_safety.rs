//! The SSH runner's safety over a real sshd: a control directory that is not private is
//! refused before anything is sent, a persistent master follows the ssh config to where the
//! target resolves now, output is bounded, and a command whose caller stopped waiting does
//! not keep running on the server.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pvectl::Error;
use pvectl::backend::command::{HostKeyPolicy, SshOptions, SshRunner};

use crate::cli::{runtime_dir, sshd_for};
use crate::sshd::{Sshd, SshdOptions};
use crate::support::{Pvectl, SimTools};

/// The ways a control directory can fail, each made under `base`; `None` when this user
/// cannot make it (another owner needs root).
fn bad_dir(base: &Path, kind: &str) -> Option<PathBuf> {
    let dir = base.join(kind);
    match kind {
        "symlink" => {
            // Even a link to a private directory: someone could swap where it points.
            let real = base.join("real");
            std::fs::create_dir(&real).expect("mkdir");
            std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).expect("chmod");
            std::os::unix::fs::symlink(&real, &dir).expect("symlink");
        }
        "open" => {
            std::fs::create_dir(&dir).expect("mkdir");
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        }
        "foreign" => {
            std::fs::create_dir(&dir).expect("mkdir");
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
            if std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).is_err() {
                eprintln!("skipped the foreign-owner case: chown needs root");
                return None;
            }
        }
        _ => unreachable!("unknown kind {kind}"),
    }
    Some(dir)
}

#[test]
fn a_control_dir_that_is_not_private_is_refused_and_nothing_is_sent() {
    let tools = SimTools::new();
    let sshd = sshd_for(&tools, &[]);
    let base = runtime_dir();
    for (kind, reason) in [("symlink", "is a symlink"), ("open", "has mode 0777"), ("foreign", "is owned by uid 65534")] {
        let Some(dir) = bad_dir(base.path(), kind) else { continue };
        let before = std::fs::symlink_metadata(&dir).expect("lstat");
        for args in [&["guest", "list"][..], &["guest", "start", "100", "--yes"][..]] {
            let r = Pvectl::new()
                .env("PVECTL_RUNTIME_DIR", &dir)
                .env("PVECTL_AUDIT_LOG", "off")
                .args(["-t", &sshd.ssh_target(), "--ssh-config"])
                .arg_path(&sshd.config_path())
                .args(args)
                .run();
            r.expect_code(9);
            assert!(r.stderr.contains(reason) && r.stderr.contains("refusing to use it"), "{kind}: {}", r.stderr);
            assert!(tools.calls().is_empty(), "{kind}: nothing reaches the server");
        }
        let after = std::fs::symlink_metadata(&dir).expect("lstat");
        assert_eq!((after.mode(), after.uid()), (before.mode(), before.uid()), "{kind}: the directory is not repaired");
        assert_eq!(std::fs::read_dir(&dir).expect("list").count(), 0, "{kind}: nothing is created in it");
    }
    assert_eq!(sshd.connections(), 0, "no connection was made");
}

/// A client config whose alias `pve-moving` points at `to` and can log in to both servers.
fn moving_config(path: &Path, to: &Sshd, both: [&Sshd; 2]) {
    let [a, b] = both;
    let text = format!(
        "Host pve-moving\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  IdentityFile {}\n  \
         IdentitiesOnly yes\n  UserKnownHostsFile {} {}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n",
        to.port(),
        to.user(),
        a.key_path().display(),
        b.key_path().display(),
        a.known_hosts_path().display(),
        b.known_hosts_path().display(),
    );
    std::fs::write(path, text).expect("write the client config");
}

#[test]
fn a_persistent_master_follows_a_changed_port_of_the_alias() {
    let (tools_a, tools_b) = (SimTools::new(), SimTools::new());
    let (a, b) = (sshd_for(&tools_a, &[]), sshd_for(&tools_b, &[]));
    let rt = runtime_dir();
    let cfg = rt.path().join("ssh_config");
    let run = || crate::cli::over_ssh("ssh://pve-moving", &cfg, &rt).args(["node", "list", "-o", "json"]).run();

    moving_config(&cfg, &a, [&a, &b]);
    run().expect_code(0);
    run().expect_code(0);
    assert_eq!((tools_a.calls().len(), tools_b.calls().len()), (2, 0), "both runs reached the first server");
    assert_eq!(a.connections(), 1, "the second run resumed the first master");

    moving_config(&cfg, &b, [&a, &b]);
    run().expect_code(0);
    assert_eq!((tools_a.calls().len(), tools_b.calls().len()), (2, 1), "after the Port change the run reached the new server");
    assert_eq!(b.connections(), 1, "through a master of its own");
    // The old master stays until it is idle; it is not used for the new destination.
    assert_eq!(a.connections(), 1);
}

fn options(sshd: &Sshd) -> SshOptions {
    SshOptions {
        user: None,
        host: Sshd::ALIAS.to_owned(),
        port: None,
        config_file: Some(sshd.config_path()),
        host_keys: HostKeyPolicy::Strict,
        persist: None,
        connect_timeout: Duration::from_secs(5),
        sudo: false,
    }
}

/// The pids of processes whose command line is exactly `argv`.
fn processes(argv: &[&str]) -> Vec<u32> {
    let want: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c == want))
        .collect()
}

#[tokio::test]
async fn a_dropped_call_stops_the_remote_command_and_the_master_stays_usable() {
    let sshd = Sshd::start(SshdOptions::default());
    let rt = runtime_dir();
    let runner = SshRunner::connect_in(options(&sshd), rt.path()).await.expect("connect");
    // An argument no other process on the machine has.
    let secs = format!("{}.{}", 30, std::process::id());
    let call = runner.run("sleep", std::slice::from_ref(&secs));
    let start = Instant::now();
    let r = tokio::time::timeout(Duration::from_millis(800), call).await;
    assert!(r.is_err(), "the deadline ends the call");
    assert!(start.elapsed() < Duration::from_secs(2));
    // The server runs the command as this user on this machine: watch it go.
    let t = Instant::now();
    while !processes(&["sleep", &secs]).is_empty() {
        assert!(t.elapsed() < Duration::from_secs(5), "the remote sleep kept running after its channel closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("remote command gone {:?} after the deadline", t.elapsed());
    let out = runner.run("echo", &["still here".into()]).await.expect("the master serves the next call");
    assert_eq!(out.stdout, b"still here\n");
    runner.close().await.expect("close");
}

#[tokio::test]
async fn output_over_the_bound_is_a_transport_error() {
    let sshd = Sshd::start(SshdOptions::default());
    let rt = runtime_dir();
    let runner = SshRunner::connect_in(options(&sshd), rt.path()).await.expect("connect");
    let exactly = (64u64 << 20).to_string();
    let out = runner.run("head", &["-c".into(), exactly.clone(), "/dev/zero".into()]).await.expect("64 MiB is allowed");
    assert_eq!(out.stdout.len(), 64 << 20);
    drop(out);
    for (prog, args) in [
        ("head", vec!["-c".to_owned(), format!("{}", (64u64 << 20) + 1), "/dev/zero".to_owned()]),
        ("sh", vec!["-c".to_owned(), format!("head -c {} /dev/zero >&2", (64u64 << 20) + 1)]),
        ("cat", vec!["/dev/zero".to_owned()]),
    ] {
        let t = Instant::now();
        let err = runner.run(prog, &args).await.expect_err("more than 64 MiB");
        assert!(matches!(err, Error::Transport { .. }), "{err:?}");
        assert!(err.to_string().contains("output larger than 64 MiB"), "{err}");
        eprintln!("{prog} {args:?}: refused after {:?}", t.elapsed());
    }
    // An endless writer was stopped when its channel closed.
    let t = Instant::now();
    while !processes(&["cat", "/dev/zero"]).is_empty() {
        assert!(t.elapsed() < Duration::from_secs(5), "the remote cat kept running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runner.run("true", &[]).await.expect("the master serves the next call");
    runner.close().await.expect("close");
}
