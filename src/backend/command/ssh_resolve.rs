//! Where an SSH target resolves, as the key of its persistent master.
//!
//! A persistent master outlives the run that started it, so the next run must only resume
//! it when it still leads where the target now resolves. Keying the socket by what the user
//! typed (alias, config path) is not enough: after `Port` or `HostName` of an alias changes
//! in `~/.ssh/config`, the old master would keep carrying commands to the old host. Like
//! OpenSSH's `%C`, the key is a hash of what `ssh -G` resolves: host name, port, user, jump
//! and proxy, identities, plus pvectl's host key policy.

use std::fmt::Write as _;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::ssh::{HostKeyPolicy, SshOptions};
use crate::error::{Error, Result};

/// Most bytes of `ssh -G` output read; a real one is a few KiB.
const MAX_RESOLVED: u64 = 1 << 20;

/// The `ssh -G` keys that decide where a connection goes and as whom.
const IDENTITY_KEYS: [&str; 6] = ["hostname", "port", "user", "proxyjump", "proxycommand", "identityfile"];

/// Most characters of ssh's stderr quoted in an error.
const MAX_EXCERPT: usize = 300;

impl SshOptions {
    /// The `ssh -G` arguments: the same `-F`, `-p`, `-l` and host as a connection (`-T`
    /// keeps a "Pseudo-terminal will not be allocated" line out of a failure's excerpt).
    pub(super) fn resolve_args(&self) -> Vec<String> {
        let mut a = self.config_args();
        a.extend(["-T".into(), "-G".into()]);
        a.extend(self.target_args());
        a
    }
}

/// Runs `ssh -G` for `opts` (stdin closed, output bounded, within the connect timeout) and
/// returns the master key: the first 16 hex digits of the SHA-256 of the resolved
/// [`IDENTITY_KEYS`] lines and the host key policy.
///
/// # Errors
/// `Transport` when ssh cannot be run, fails (a broken config: its stderr is quoted), takes
/// longer than the connect timeout, or prints more than 1 MiB.
pub(super) async fn master_key(opts: &SshOptions) -> Result<String> {
    let resolved = tokio::time::timeout(opts.connect_timeout.max(Duration::from_secs(1)), resolve(opts)).await.map_err(|_| {
        Error::Transport { message: format!("`ssh -G {}` did not answer within the connect timeout", opts.host), source: None }
    })??;
    Ok(key_of(&resolved, opts.host_keys))
}

async fn resolve(opts: &SshOptions) -> Result<String> {
    let mut child = tokio::process::Command::new("ssh")
        .args(opts.resolve_args())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::transport("failed to start ssh (is the OpenSSH client installed?)", e))?;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (mut stdout, mut stderr) = (stdout.take(MAX_RESOLVED + 1), stderr.take(MAX_RESOLVED));
    let (r1, r2) = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
    r1.and(r2).map_err(|e| Error::transport("failed to read `ssh -G` output", e))?;
    if out.len() as u64 > MAX_RESOLVED {
        return Err(Error::Transport { message: format!("`ssh -G {}` printed more than 1 MiB", opts.host), source: None });
    }
    let status = child.wait().await.map_err(|e| Error::transport("failed to wait for `ssh -G`", e))?;
    if !status.success() {
        let text = String::from_utf8_lossy(&err);
        let mut excerpt: String = text.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("; ");
        if excerpt.chars().count() > MAX_EXCERPT {
            excerpt = excerpt.chars().take(MAX_EXCERPT).collect::<String>() + "...";
        }
        let excerpt = if excerpt.is_empty() { format!("ssh exited with {status}") } else { excerpt.escape_debug().to_string() };
        return Err(Error::Transport { message: format!("failed to resolve {} with `ssh -G`: {excerpt}", opts.host), source: None });
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The key of `ssh -G` output `resolved` under `policy`.
fn key_of(resolved: &str, policy: HostKeyPolicy) -> String {
    let mut text = String::new();
    for line in resolved.lines() {
        let (k, _) = line.split_once(' ').unwrap_or((line, ""));
        if IDENTITY_KEYS.contains(&k.to_ascii_lowercase().as_str()) {
            text.push_str(line);
            text.push('\n');
        }
    }
    writeln!(text, "hostkeypolicy {policy:?}").expect("write to a String");
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref()[..8].iter().fold(String::with_capacity(16), |mut s, b| {
        write!(s, "{b:02x}").expect("write to a String");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: &str = "host pve\nhostname 10.0.0.1\nport 22\nuser root\nidentityfile ~/.ssh/id_ed25519\nidentityfile ~/.ssh/id_rsa\n\
                     serveraliveinterval 0\ncontrolpath none\n";

    #[test]
    fn key_follows_the_resolved_destination_not_the_rest() {
        let k = key_of(G, HostKeyPolicy::Strict);
        assert_eq!(k.len(), 16);
        assert!(k.bytes().all(|b| b.is_ascii_hexdigit()));
        // The alias (`host`) and unrelated options do not matter.
        assert_eq!(k, key_of(&G.replace("host pve", "host other").replace("interval 0", "interval 15"), HostKeyPolicy::Strict));
        for changed in [
            G.replace("port 22", "port 2222"),
            G.replace("10.0.0.1", "10.0.0.2"),
            G.replace("user root", "user admin"),
            G.replace("id_rsa", "id_other"),
            format!("{G}proxyjump jump\n"),
            format!("{G}proxycommand nc %h %p\n"),
        ] {
            assert_ne!(k, key_of(&changed, HostKeyPolicy::Strict), "{changed}");
        }
        assert_ne!(k, key_of(G, HostKeyPolicy::AcceptNew));
    }

    #[test]
    fn resolve_args_name_the_same_destination_as_a_connection() {
        let mut o = SshOptions::parse_target("ssh://root@pve:2222").expect("valid");
        o.config_file = Some("/c f".into());
        assert_eq!(o.resolve_args(), ["-F", "/c f", "-T", "-G", "-p", "2222", "-l", "root", "--", "pve"]);
    }

    #[tokio::test]
    async fn a_bad_config_is_a_transport_error_quoting_ssh() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = dir.path().join("config");
        std::fs::write(&cfg, "Host x\n  Port notaport\n").expect("write");
        let mut o = SshOptions::parse_target("ssh://x").expect("valid");
        o.config_file = Some(cfg);
        let err = master_key(&o).await.expect_err("a bad config");
        assert_eq!(err.exit_code(), 9);
        assert!(err.to_string().contains("ssh -G") && err.to_string().contains("notaport"), "{err}");
    }

    #[tokio::test]
    async fn port_from_the_command_line_changes_the_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = dir.path().join("config");
        std::fs::write(&cfg, "Host pve\n  HostName 127.0.0.1\n  Port 2201\n").expect("write");
        let mut o = SshOptions::parse_target("ssh://pve").expect("valid");
        o.config_file = Some(cfg.clone());
        let a = master_key(&o).await.expect("resolves");
        std::fs::write(&cfg, "Host pve\n  HostName 127.0.0.1\n  Port 2202\n").expect("write");
        let b = master_key(&o).await.expect("resolves");
        assert_ne!(a, b, "a changed Port in the config gives another master");
        o.port = Some(2202);
        assert_eq!(b, master_key(&o).await.expect("resolves"), "same destination, same master");
    }
}
