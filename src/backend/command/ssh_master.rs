//! Starting an OpenSSH multiplex master for [`SshRunner`](super::SshRunner): its command
//! line, a lock so one target gets one master, checks on the control socket path, and the
//! reason for a failure in ssh's own words.

use std::io::{Read, Seek};
use std::path::Path;
use std::time::Duration;

use super::ssh::{HostKeyPolicy, SshOptions};
use super::ssh_dir;
use crate::error::{Error, Result};

impl SshOptions {
    /// The `ssh` arguments that start a master on `socket`, logging to `log`.
    ///
    /// `ControlPersist` is set only for a persistent master: with it, ssh sends a
    /// `ProxyJump` hop's stderr to /dev/null, losing the jump host's reason for a failure. A
    /// private master needs none: with `-N` it exits when `close()` stops its listener.
    pub(super) fn master_args(&self, socket: &Path, log: &Path) -> Vec<String> {
        let mut a = self.config_args();
        let mut control = vec!["ControlMaster=yes".to_owned(), format!("ControlPath={}", ssh_config_path(socket))];
        if let Some(d) = self.persist {
            control.push(format!("ControlPersist={}s", d.as_secs().max(1)));
        }
        for o in control {
            a.push("-o".into());
            a.push(o);
        }
        a.extend(["-E".into(), log.display().to_string(), "-f".into(), "-N".into()]);
        a.extend(self.connection_args());
        a
    }

    /// The `ssh` arguments of a one-shot connection without multiplexing that runs `true`:
    /// rerun after a persistent master failed, to learn a jump host's reason from stderr.
    pub(super) fn probe_args(&self) -> Vec<String> {
        let mut a = self.config_args();
        a.extend(["-o".into(), "ControlMaster=no".into(), "-o".into(), "ControlPath=none".into()]);
        a.extend(self.connection_args());
        a.push("true".into());
        a
    }

    /// `-F config` when one is given.
    pub(super) fn config_args(&self) -> Vec<String> {
        match &self.config_file {
            Some(cfg) => vec!["-F".into(), cfg.display().to_string()],
            None => Vec::new(),
        }
    }

    /// Host key policy, batch mode, timeouts, port, user, then `-- host`.
    fn connection_args(&self) -> Vec<String> {
        let strict = match self.host_keys {
            HostKeyPolicy::Strict => "yes",
            HostKeyPolicy::AcceptNew => "accept-new",
        };
        let mut a = Vec::new();
        for o in [
            "BatchMode=yes".to_owned(),
            format!("StrictHostKeyChecking={strict}"),
            format!("ConnectTimeout={}", self.connect_timeout.as_secs().max(1)),
            "ServerAliveInterval=15".to_owned(),
        ] {
            a.push("-o".into());
            a.push(o);
        }
        a.extend(self.target_args());
        a
    }

    /// Port, user, then `-- host`: where to connect, shared with `ssh -G`.
    pub(super) fn target_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        if let Some(p) = self.port {
            a.push("-p".into());
            a.push(p.to_string());
        }
        if let Some(u) = &self.user {
            a.push("-l".into());
            a.push(u.clone());
        }
        a.push("--".into());
        a.push(self.host.clone());
        a
    }
}

/// Runs [`SshOptions::probe_args`] and returns its stderr when it failed.
async fn probe(opts: &SshOptions) -> Option<String> {
    let out = tokio::process::Command::new("ssh")
        .args(opts.probe_args())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    (!out.status.success() && !text.trim().is_empty()).then_some(text)
}

/// Most bytes of a master's log read back for an error message.
const MAX_LOG: u64 = 64 << 10;

/// ssh's reason for a failure, bounded: its non-blank lines (without the `@@@` banner rules)
/// joined by `; `, keeping the last ones — where ssh puts the verdict ("Host key verification
/// failed.") — within `max` bytes.
fn last_lines(text: &str, max: usize) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut len = 0;
    for l in text.lines().rev().map(str::trim).filter(|l| !l.is_empty() && !l.chars().all(|c| c == '@')) {
        if len + l.len() + 2 > max {
            kept.push("…");
            break;
        }
        len += l.len() + 2;
        kept.push(l);
    }
    kept.reverse();
    kept.join("; ")
}

/// `path` as an ssh config value: `%` escaped (ssh expands `%h` and friends in
/// `ControlPath`) and double-quoted, so a space does not end the value.
fn ssh_config_path(path: &Path) -> String {
    format!("\"{}\"", path.display().to_string().replace('%', "%%"))
}

/// Longest control socket path: `sun_path` holds 107 bytes and a NUL on Linux (103 on the
/// BSDs), and ssh binds `<path>.<16 random chars>` first, then renames it.
const MAX_SOCKET_PATH: usize = 107 - 17;

/// Refuses a control socket path that ssh cannot use: too long, or holding a character an
/// ssh config value cannot quote.
pub(super) fn check_socket_path(socket: &Path) -> Result<()> {
    let text = socket.display().to_string();
    if text.contains(['"', '\n']) {
        return Err(Error::Transport {
            message: format!("the ssh control directory {} holds a double quote or a newline; set PVECTL_RUNTIME_DIR", text.escape_debug()),
            source: None,
        });
    }
    let len = socket.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(Error::Transport {
            message: format!(
                "the ssh control socket path {} is {len} bytes, more than the {MAX_SOCKET_PATH} a unix socket allows; \
                 set PVECTL_RUNTIME_DIR to a shorter directory",
                socket.display()
            ),
            source: None,
        });
    }
    Ok(())
}

/// Takes an exclusive `flock` on `path`, waiting at most as long as another connect may
/// take. Released when the returned file is dropped; the file itself stays.
pub(super) async fn lock_file(path: &Path, connect_timeout: Duration) -> Result<std::fs::File> {
    let file = ssh_dir::open_private_file(path, false)
        .map_err(|e| Error::transport(format!("failed to open the lock file {}", path.display()), e))?;
    let deadline = tokio::time::Instant::now() + connect_timeout * 2 + Duration::from_secs(5);
    loop {
        match fs4::fs_std::FileExt::try_lock_exclusive(&file) {
            Ok(true) => return Ok(file),
            Ok(false) if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            Ok(false) => {
                return Err(Error::Transport { message: format!("timed out waiting for the lock {}", path.display()), source: None });
            }
            Err(e) => return Err(Error::transport(format!("failed to lock {}", path.display()), e)),
        }
    }
}

pub(super) async fn launch_master(opts: &SshOptions, socket: &Path) -> Result<()> {
    let log = socket.with_extension("log");
    let _ = std::fs::remove_file(&log);
    // ssh's own messages go to the log (`-E`); its stderr goes there too, because the inner
    // `ssh -W` of a ProxyJump inherits stderr and not `-E`: that is where a jump host's
    // "Host key verification failed." ends up. Append mode keeps both writers' lines whole.
    let mut log_file = ssh_dir::open_private_file(&log, true)
        .map_err(|e| Error::transport(format!("failed to create the ssh log {}", log.display()), e))?;
    let stderr = log_file.try_clone().map_err(|e| Error::transport(format!("failed to open the ssh log {}", log.display()), e))?;
    let status = tokio::process::Command::new("ssh")
        .args(opts.master_args(socket, &log))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .status()
        .await
        .map_err(|e| Error::transport("failed to start ssh (is the OpenSSH client installed?)", e))?;
    // Read back through the handle opened without following links, at most 64 KiB.
    let mut reason = String::new();
    let _ = log_file.seek(std::io::SeekFrom::Start(0)).and_then(|_| (&mut log_file).take(MAX_LOG).read_to_string(&mut reason));
    let _ = std::fs::remove_file(&log);
    if !status.success() {
        // "UNKNOWN port 65535" is how ssh names a peer behind a ProxyJump/ProxyCommand pipe:
        // the hop failed, and with ControlPersist its stderr was discarded. Ask once more.
        if opts.persist.is_some()
            && reason.contains("UNKNOWN port 65535")
            && let Some(more) = probe(opts).await
        {
            reason = more;
        }
        let reason = last_lines(&reason, 800);
        let target = match (&opts.user, opts.port) {
            (Some(u), Some(p)) => format!("{u}@{}:{p}", opts.host),
            (Some(u), None) => format!("{u}@{}", opts.host),
            (None, Some(p)) => format!("{}:{p}", opts.host),
            (None, None) => opts.host.clone(),
        };
        let reason = if reason.is_empty() { format!("ssh exited with {status}") } else { reason };
        return Err(Error::Transport { message: format!("failed to connect to {target} over ssh: {reason}"), source: None });
    }
    // `-f` returns once authenticated; the socket appears right after.
    for _ in 0..100 {
        if socket.exists() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(Error::Transport { message: format!("ssh master for {} did not create its control socket", opts.host), source: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_args_are_strict_and_batch() {
        let o = SshOptions::parse_target("ssh://root@h:2222").expect("valid");
        let a = o.master_args(Path::new("/s"), Path::new("/l"));
        assert!(a.contains(&"StrictHostKeyChecking=yes".to_owned()));
        assert!(a.contains(&"BatchMode=yes".to_owned()));
        assert!(a.contains(&"ControlPersist=60s".to_owned()));
        assert!(a.contains(&"ControlPath=\"/s\"".to_owned()));
        assert_eq!(a.last().map(String::as_str), Some("h"));
        assert_eq!(a[a.len() - 2], "--");
        let private = SshOptions { persist: None, ..o.clone() };
        let a = private.master_args(Path::new("/s"), Path::new("/l"));
        assert!(!a.iter().any(|x| x.starts_with("ControlPersist")), "a private master keeps a jump hop's stderr");
        let p = o.probe_args();
        assert_eq!(&p[p.len() - 3..], ["--", "h", "true"]);
        assert!(p.contains(&"ControlPath=none".to_owned()));
    }

    #[test]
    fn failure_reasons_keep_the_verdict_within_the_bound() {
        let noisy = format!("@@@@@@\n@ WARNING @\n{}\nHost key verification failed.\n", "x".repeat(5000));
        let r = last_lines(&noisy, 800);
        assert_eq!(r, "…; Host key verification failed.");
        assert_eq!(last_lines("a\n\nb\n", 800), "a; b");
    }

    #[test]
    fn control_paths_are_quoted_and_bounded() {
        assert_eq!(ssh_config_path(Path::new("/run/a b/%h")), "\"/run/a b/%%h\"");
        assert!(check_socket_path(Path::new("/run/user/0/pvectl/m-0123456789abcdef")).is_ok());
        assert!(check_socket_path(&Path::new("/tmp").join("x".repeat(90))).is_err());
        assert!(check_socket_path(Path::new("/tmp/a\"b/m")).is_err());
    }
}
