//! The SSH runner: one OpenSSH multiplex master per target, used through the `openssh`
//! crate's native mux client.
//!
//! The master is started with the system `ssh` so everything in `~/.ssh/config` applies
//! (`ProxyJump`, `IdentityFile`, `Port`, `User`), with `BatchMode=yes` (never prompts) and
//! `StrictHostKeyChecking=yes` unless `accept-new` is asked for. Like OpenSSH's
//! `ControlPersist`, the master outlives one run: its socket sits in a private 0700
//! directory (`ssh_dir`), named by where the target resolves (`ssh_resolve`), and the next
//! run against the same destination resumes it, paying one channel instead of a handshake.
//! The master exits after being idle for the persist time (default 60 s). With
//! `--no-persist` the master is private to the run and closed explicitly at its end.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use openssh::Session;
use tokio::sync::RwLock;

use super::runner::CommandOutput;
use super::ssh_dir::{check_private_dir, control_dir};
use super::{ssh_channel, ssh_master, ssh_resolve};
use crate::error::{Error, Result};

/// How the SSH host key is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HostKeyPolicy {
    /// `StrictHostKeyChecking=yes`: the key must already be in `known_hosts`.
    #[default]
    Strict,
    /// `StrictHostKeyChecking=accept-new`: a new host's key is recorded, a changed one refused.
    AcceptNew,
}

/// Everything that determines one SSH connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SshOptions {
    /// Login user; `None` = from ssh config or the local user.
    pub user: Option<String>,
    /// Host name or alias from ssh config.
    pub host: String,
    /// Port; `None` = from ssh config or 22.
    pub port: Option<u16>,
    /// An ssh config file to use instead of `~/.ssh/config` (`ssh -F`).
    pub config_file: Option<PathBuf>,
    /// Host key policy.
    pub host_keys: HostKeyPolicy,
    /// Keep the master for later runs, exiting after this idle time; `None` = close at the end.
    pub persist: Option<Duration>,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// Prefix remote commands with `sudo -n`.
    pub sudo: bool,
}

impl SshOptions {
    /// Parses `ssh://[user@]host[:port]` (IPv6 as `[addr]`). Other fields take defaults.
    ///
    /// # Errors
    /// `Usage` when the target is malformed.
    pub fn parse_target(target: &str) -> Result<Self> {
        let rest = target.strip_prefix("ssh://").ok_or_else(|| Error::Usage(format!("'{target}' is not an ssh:// target")))?;
        let rest = rest.trim_end_matches('/');
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_owned()), h),
            None => (None, rest),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, tail) = v6.split_once(']').ok_or_else(|| Error::Usage(format!("unclosed '[' in '{target}'")))?;
            (h.to_owned(), tail.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (hostport.to_owned(), None),
            }
        };
        let port = port.map(|p| p.parse::<u16>().map_err(|_| Error::Usage(format!("invalid port '{p}' in '{target}'")))).transpose()?;
        let ok_host = !host.is_empty() && !host.starts_with('-') && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:".contains(&b));
        let ok_user = user
            .as_deref()
            .is_none_or(|u| !u.is_empty() && !u.starts_with('-') && u.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
        if !ok_host || !ok_user {
            return Err(Error::Usage(format!("invalid ssh target '{target}': expected ssh://[user@]host[:port]")));
        }
        Ok(Self {
            user,
            host,
            port,
            config_file: None,
            host_keys: HostKeyPolicy::Strict,
            persist: Some(Duration::from_secs(60)),
            connect_timeout: Duration::from_secs(10),
            sudo: false,
        })
    }
}

/// Sequence number making private sockets unique within the process.
static PRIVATE_SEQ: AtomicU64 = AtomicU64::new(0);

/// Runs commands over one multiplexed SSH session.
pub struct SshRunner {
    opts: SshOptions,
    /// Read-locked by each command (channels run concurrently on the one master), write-
    /// locked only to close.
    session: RwLock<Option<Session>>,
    socket: PathBuf,
}

impl fmt::Debug for SshRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SshRunner({self})")
    }
}

impl fmt::Display for SshRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.opts.user {
            write!(f, "{u}@")?;
        }
        f.write_str(&self.opts.host)?;
        if let Some(p) = self.opts.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

impl SshRunner {
    /// Connects: resumes a live persistent master for where these options resolve, or
    /// starts one. The control socket lives in [`control_dir`].
    ///
    /// # Errors
    /// `Transport` with ssh's own reason (connection refused, host key verification failed,
    /// permission denied) when the master cannot be started, and when the control directory
    /// is not private (nothing is sent then).
    pub async fn connect(opts: SshOptions) -> Result<Self> {
        Self::connect_in(opts, &control_dir()?).await
    }

    /// [`SshRunner::connect`] with the control socket in `dir` instead of [`control_dir`]
    /// (tests and embedders that must not depend on the process environment). `dir` must
    /// be private to the user, as [`check_private_dir`] checks; it is not created.
    ///
    /// A persistent master's socket is named by where the target resolves (`ssh -G`), so
    /// a changed ssh config never reuses a master to the old destination.
    ///
    /// # Errors
    /// As [`SshRunner::connect`]; also `Transport` when `dir` is not private or `ssh -G`
    /// rejects the configuration.
    pub async fn connect_in(opts: SshOptions, dir: &Path) -> Result<Self> {
        check_private_dir(dir)?;
        let socket = match opts.persist {
            Some(_) => dir.join(format!("m-{}", ssh_resolve::master_key(&opts).await?)),
            // Unique per runner, so two private runners in one process never share a path.
            None => dir.join(format!("p-{}-{}", std::process::id(), PRIVATE_SEQ.fetch_add(1, Ordering::Relaxed))),
        };
        ssh_master::check_socket_path(&socket)?;
        if opts.persist.is_none() {
            // A leftover from a crashed process that had the same pid.
            let _ = std::fs::remove_file(&socket);
            return Self::start(opts, socket).await;
        }
        // Serialise connects to one target across runners and processes: two masters
        // racing for one socket would leave the loser running forever without multiplexing
        // (ssh only logs "disabling multiplexing" and carries on with `-N`).
        let _lock = ssh_master::lock_file(&socket.with_extension("lock"), opts.connect_timeout).await?;
        if socket.exists() {
            let s = Session::resume_mux(socket.clone().into_boxed_path(), None);
            if s.check().await.is_ok() {
                return Ok(Self { opts, session: RwLock::new(Some(s)), socket });
            }
            // A stale socket from a master that died: remove it and start afresh.
            let _ = std::fs::remove_file(&socket);
        }
        Self::start(opts, socket).await
    }

    /// Starts a master on `socket` and attaches to it.
    async fn start(opts: SshOptions, socket: PathBuf) -> Result<Self> {
        ssh_master::launch_master(&opts, &socket).await?;
        let s = Session::resume_mux(socket.clone().into_boxed_path(), None);
        s.check().await.map_err(|e| Error::transport(format!("failed to use the ssh master for {}", opts.host), e))?;
        Ok(Self { opts, session: RwLock::new(Some(s)), socket })
    }

    /// Whether remote commands get `sudo -n`.
    pub fn sudo(&self) -> bool {
        self.opts.sudo
    }

    /// The master's control socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Runs one remote command on a new channel of the master. Each of `program` and
    /// `args` is escaped by `openssh` so it arrives as exactly one argument. Output is read
    /// up to 64 MiB (`MAX_OUTPUT`) bytes a stream; dropping the future
    /// (a deadline) closes the channel (see the `ssh_channel` module).
    ///
    /// # Errors
    /// `Transport` when the channel fails, the session was closed, or the output is larger
    /// than the bound.
    pub async fn run(&self, program: &str, args: &[String]) -> Result<CommandOutput> {
        let guard = self.session.read().await;
        let session =
            guard.as_ref().ok_or_else(|| Error::Transport { message: format!("ssh session to {self} is closed"), source: None })?;
        ssh_channel::run(session, program, args, self).await
    }

    /// Ends the session: a private master (`--no-persist`) is told to exit; a persistent one
    /// is left running for the next invocation and exits by itself when idle.
    ///
    /// # Errors
    /// `Transport` when a private master could not be shut down.
    pub async fn close(&self) -> Result<()> {
        let Some(s) = self.session.write().await.take() else { return Ok(()) };
        if self.opts.persist.is_none() {
            let r = s.close().await;
            let _ = std::fs::remove_file(&self.socket);
            r.map_err(|e| Error::transport(format!("failed to close the ssh master for {self}"), e))?;
        }
        Ok(())
    }
}

impl Drop for SshRunner {
    /// A private master not closed (an early return, a panic) is told to exit: a session
    /// from `Session::resume_mux` does not own its master, and a private master has no
    /// `ControlPersist` to end it, so it would otherwise run for ever.
    fn drop(&mut self) {
        if self.opts.persist.is_some() || self.session.get_mut().is_none() {
            return;
        }
        let _ = std::process::Command::new("ssh")
            .args(["-F", "/dev/null", "-O", "exit", "-S"])
            .arg(&self.socket)
            .arg("pvectl-master")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_file(&self.socket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        let o = SshOptions::parse_target("ssh://root@127.0.0.1:2222").expect("valid");
        assert_eq!((o.user.as_deref(), o.host.as_str(), o.port), (Some("root"), "127.0.0.1", Some(2222)));
        let o = SshOptions::parse_target("ssh://pve1").expect("valid");
        assert_eq!((o.user, o.host.as_str(), o.port), (None, "pve1", None));
        let o = SshOptions::parse_target("ssh://admin@[::1]:22").expect("valid");
        assert_eq!(o.host, "::1");
        for bad in ["ssh://", "ssh://-oProxyCommand=x", "ssh://a b", "ssh://h:99999", "ssh://r;t@h", "http://h"] {
            assert!(SshOptions::parse_target(bad).is_err(), "{bad}");
        }
    }
}
