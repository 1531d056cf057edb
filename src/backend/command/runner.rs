//! Where commands run: this host or an SSH target. A closed set, so an enum.
//!
//! Every argument is passed as one argument: locally through `execve` (no shell), over SSH
//! through the `openssh` crate's `arg`, which escapes each one for the remote shell. No
//! command string is ever built by concatenation.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::ssh::SshRunner;
use crate::error::{Error, Result};

/// Most bytes kept of one command's stdout (and, separately, stderr): 64 MiB. A larger
/// answer is a `Transport` error (exit 9), never memory exhaustion (DESIGN.md §5).
pub(crate) const MAX_OUTPUT: usize = 64 << 20;

static TRACE: AtomicBool = AtomicBool::new(false);

/// Turns on a trace line on stderr per command run (`-v`): the target, the argv (each
/// argument quoted as Rust debug text), the exit code and the duration in milliseconds.
pub fn set_trace(on: bool) {
    TRACE.store(on, Ordering::Relaxed);
}

/// What a command left behind. `status` is the exit code (a signal death maps to 128+n, or
/// -1 when unknown).
#[derive(Debug, Clone, Default)]
pub struct CommandOutput {
    /// Exit code.
    pub status: i32,
    /// Standard output, bytes.
    pub stdout: Vec<u8>,
    /// Standard error, bytes.
    pub stderr: Vec<u8>,
}

impl CommandOutput {
    /// Standard error as text (lossy UTF-8).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Test support: variables every local tool run gets, set once per process.
#[cfg(feature = "test-support")]
static LOCAL_TOOL_ENV: std::sync::OnceLock<Vec<(std::ffi::OsString, std::ffi::OsString)>> = std::sync::OnceLock::new();

/// Test support: from now on, every tool [`Runner::Local`] runs gets `vars` on top of this
/// process's environment (`PATH` with the `pve-sim` tools first, `PVE_SIM_STATE`, ...), and a
/// `PATH` among them is where the tool is looked up. Set once per process, so that tests
/// running in parallel threads never change the environment under each other (unlike
/// `std::env::set_var`); a later call with other values is refused.
///
/// # Errors
/// `Usage` when different variables were set before.
#[cfg(feature = "test-support")]
pub fn set_local_tool_env(vars: &[(std::ffi::OsString, std::ffi::OsString)]) -> Result<()> {
    let set = LOCAL_TOOL_ENV.get_or_init(|| vars.to_vec());
    if set.as_slice() == vars { Ok(()) } else { Err(Error::Usage("the local tool environment is already set to other values".into())) }
}

/// Runs commands on one target.
#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "one runner per run; boxing buys nothing")]
pub enum Runner {
    /// This host, through `tokio::process` (no shell).
    Local {
        /// Prefix every command with `sudo -n`.
        sudo: bool,
    },
    /// An SSH target over one multiplexed connection.
    Ssh(SshRunner),
}

impl Runner {
    /// Runs `program args...` and collects its output. A non-zero exit is not an error
    /// here: callers classify it.
    ///
    /// # Errors
    /// `Usage` when an argument holds a NUL byte; `Transport` when the program cannot be
    /// started or the SSH channel fails.
    pub async fn run(&self, program: &str, args: &[String]) -> Result<CommandOutput> {
        if program.contains('\0') || args.iter().any(|a| a.contains('\0')) {
            return Err(Error::Usage("command arguments must not contain NUL bytes".into()));
        }
        let start = Instant::now();
        let out = self.run_inner(program, args).await;
        if TRACE.load(Ordering::Relaxed) {
            let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
            let result = out.as_ref().map_or_else(|e| format!("error: {e}"), |o| format!("exit {}", o.status));
            eprintln!("pvectl: {self} $ {program} {} -> {result} in {} ms", quoted.join(" "), start.elapsed().as_millis());
        }
        out
    }

    async fn run_inner(&self, program: &str, args: &[String]) -> Result<CommandOutput> {
        match self {
            Self::Local { sudo } => {
                let (prog, full) = with_sudo(*sudo, program, args);
                run_local(prog, &full).await
            }
            Self::Ssh(ssh) => {
                let (prog, full) = with_sudo(ssh.sudo(), program, args);
                ssh.run(prog, &full).await
            }
        }
    }

    /// Closes the SSH session (see [`SshRunner::close`]); nothing to do locally.
    ///
    /// # Errors
    /// `Transport` when the SSH master could not be told to exit.
    pub async fn close(&self) -> Result<()> {
        match self {
            Self::Local { .. } => Ok(()),
            Self::Ssh(ssh) => ssh.close().await,
        }
    }
}

impl fmt::Display for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local { .. } => f.write_str("Local"),
            Self::Ssh(s) => write!(f, "Ssh({s})"),
        }
    }
}

fn with_sudo<'a>(sudo: bool, program: &'a str, args: &[String]) -> (&'a str, Vec<String>) {
    if sudo {
        let mut full = Vec::with_capacity(args.len() + 2);
        full.push("-n".to_owned());
        full.push(program.to_owned());
        full.extend_from_slice(args);
        ("sudo", full)
    } else {
        (program, args.to_vec())
    }
}

/// Kills a process group when dropped: a tool and every child it left behind (one holding
/// stdout open cannot keep pvectl waiting), also when the caller's deadline drops the future.
struct GroupGuard(Option<libc::pid_t>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SAFETY: killpg only sends a signal; a stale group id fails with ESRCH, ignored.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a local program in its own process group with stdin closed, reading at most
/// [`MAX_OUTPUT`] bytes of each stream. When the program exits, what is left of its group is
/// killed, so the pipes reach EOF even if a child inherited them.
async fn run_local(prog: &str, args: &[String]) -> Result<CommandOutput> {
    let mut cmd = tokio::process::Command::new(prog);
    #[cfg(feature = "test-support")]
    if let Some(vars) = LOCAL_TOOL_ENV.get() {
        // A `PATH` set here is also where the program is looked up (std `Command::env`).
        cmd.envs(vars.iter().map(|(k, v)| (k, v)));
    }
    let mut child = cmd
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::transport(format!("failed to run {prog} on this host"), e))?;
    let mut group = GroupGuard(child.id().and_then(|id| libc::pid_t::try_from(id).ok()));
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(Error::Internal("a piped child has no stdout/stderr".into()));
    };
    let wait = async {
        let status = child.wait().await.map_err(|e| Error::transport(format!("failed to wait for {prog}"), e));
        group.kill();
        status
    };
    let (out_what, err_what) = (format!("the stdout of {prog} on this host"), format!("the stderr of {prog} on this host"));
    let (status, stdout, stderr) = tokio::try_join!(wait, read_bounded(out, &out_what), read_bounded(err, &err_what))?;
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return Err(Error::ToolKilled { program: prog.to_owned(), signal });
    }
    Ok(CommandOutput { status: exit_code(status), stdout, stderr })
}

/// Reads a stream to its end, failing past [`MAX_OUTPUT`] bytes. `what` names the stream
/// for messages: `the stdout of pvesh on this host`.
pub(crate) async fn read_bounded(r: impl tokio::io::AsyncRead + Unpin, what: &str) -> Result<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let mut buf = Vec::new();
    r.take(MAX_OUTPUT as u64 + 1).read_to_end(&mut buf).await.map_err(|e| Error::transport(format!("failed to read {what}"), e))?;
    if buf.len() > MAX_OUTPUT {
        return Err(Error::Transport {
            message: format!("output larger than {} MiB on {what}; refusing to read it", MAX_OUTPUT >> 20),
            source: None,
        });
    }
    Ok(buf)
}

/// Exit code of a finished process: the code, or 128+signal, or -1.
pub(crate) fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_prefixes_without_joining() {
        let (p, a) = with_sudo(true, "pvesh", &["get".into(), "/a b".into()]);
        assert_eq!(p, "sudo");
        assert_eq!(a, ["-n", "pvesh", "get", "/a b"]);
    }

    #[tokio::test]
    async fn local_runner_passes_hostile_arguments_verbatim() {
        let r = Runner::Local { sudo: false };
        let hostile = "a b'c\";d $(touch /nonexistent) `x`".to_owned();
        let out = r.run("printf", &["%s".into(), hostile.clone()]).await.expect("printf runs");
        assert_eq!(out.status, 0);
        assert_eq!(String::from_utf8_lossy(&out.stdout), hostile);
    }

    #[tokio::test]
    async fn a_child_left_holding_stdout_does_not_keep_the_run_open() {
        let r = Runner::Local { sudo: false };
        // The shell exits at once; its background child keeps stdout open for 600 s. Without
        // the group kill after the leader exits, this read would last as long.
        let args = ["-c".to_owned(), "sleep 600 & echo done".to_owned()];
        let run = r.run("sh", &args);
        let out = tokio::time::timeout(std::time::Duration::from_secs(60), run).await.expect("returns when sh exits").expect("runs");
        assert_eq!((out.status, String::from_utf8_lossy(&out.stdout).trim()), (0, "done"));
    }

    #[tokio::test]
    async fn a_tool_killed_by_a_signal_is_a_transport_error() {
        let r = Runner::Local { sudo: false };
        let e = r.run("sh", &["-c".into(), "kill -9 $$".into()]).await.expect_err("killed");
        assert!(matches!(e, Error::ToolKilled { signal: 9, .. }), "{e}");
        assert_eq!(e.exit_code(), crate::exit_codes::TRANSPORT);
    }

    #[tokio::test]
    async fn output_past_the_bound_is_refused() {
        let r = Runner::Local { sudo: false };
        let past = (MAX_OUTPUT + 1).to_string();
        let e = r.run("head", &["-c".into(), past, "/dev/zero".into()]).await.expect_err("too much");
        assert!(matches!(&e, Error::Transport { message, .. } if message.contains("output larger than 64 MiB")), "{e}");
        let exact = r.run("head", &["-c".into(), MAX_OUTPUT.to_string(), "/dev/zero".into()]).await.expect("at the bound");
        assert_eq!(exact.stdout.len(), MAX_OUTPUT);
    }

    #[tokio::test]
    async fn nul_bytes_are_refused_before_running() {
        let r = Runner::Local { sudo: false };
        assert!(matches!(r.run("true", &["a\0b".into()]).await, Err(Error::Usage(_))));
    }
}
