//! One remote command on a channel of the multiplex master: bounded output, and a channel
//! that closes when the caller stops waiting.
//!
//! The command is spawned through the `openssh` native mux client with piped stdout and
//! stderr, each read through `AsyncReadExt::take` up to `MAX_OUTPUT` bytes (`super::runner::read_bounded`): a larger
//! answer is a `Transport` error, not memory exhaustion.
//!
//! Dropping the future (the caller's `tokio::time::timeout` at the deadline) drops the
//! `openssh` child: the mux client's unix stream to the master closes, and the master then
//! ends its side of the channel (EOF on the remote stdin, "no more reading" for its stdout
//! and stderr). The mux protocol has no message to signal a remote process, so sshd keeps
//! the channel until the process ends; the process ends on its own only when it next writes
//! or reads. Commands therefore run under a small POSIX `sh` guard that keeps the channel's
//! stdin open and, when it reaches EOF before the command has finished, sends the command
//! `SIGTERM`: a closed channel stops the remote work too.

use std::fmt::Display;

use openssh::{Session, Stdio};

use super::runner::{CommandOutput, exit_code, read_bounded};
use crate::error::{Error, Result};

/// The guard: runs `"$@"` with stdin from /dev/null in the background, and a watcher that
/// reads the channel's stdin (fd 3, because an asynchronous list of a non-interactive shell
/// gets /dev/null as stdin) and sends `SIGTERM` to the command at EOF. The watcher's output
/// goes to /dev/null, so it never holds the channel's stdout or stderr open; after the
/// command ends the watcher is killed before it can signal (a pid that may be reused).
const GUARD: &str = "exec 3<&0
\"$@\" </dev/null &
c=$!
{ cat <&3 >/dev/null 2>&1; kill -TERM \"$c\"; } >/dev/null 2>&1 &
w=$!
exec 3<&-
wait \"$c\"
s=$?
kill \"$w\" 2>/dev/null
exit \"$s\"";

/// The name `$0` of the guard shell, seen in the remote process list.
const GUARD_NAME: &str = "pvectl-guard";

/// Runs `program args...` on a new channel of `session`; `target` names the host in errors.
pub(super) async fn run(session: &Session, program: &str, args: &[String], target: &(dyn Display + Sync)) -> Result<CommandOutput> {
    let fail = |e: openssh::Error| Error::transport(format!("failed to run {program} over ssh on {target}"), e);
    let mut child = session
        .command("sh")
        .args(["-c", GUARD, GUARD_NAME, program])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .await
        .map_err(fail)?;
    // Held open until the command has finished: its EOF is the guard's signal to stop.
    let stdin = child.stdin().take();
    let stdout = child.stdout().take().expect("stdout is piped");
    let stderr = child.stderr().take().expect("stderr is piped");
    let (out_what, err_what) =
        (format!("the stdout of a command over ssh on {target}"), format!("the stderr of a command over ssh on {target}"));
    let (out, err) = tokio::try_join!(read_bounded(stdout, &out_what), read_bounded(stderr, &err_what))?;
    let status = child.wait().await.map_err(fail)?;
    drop(stdin);
    Ok(CommandOutput { status: exit_code(status), stdout: out, stderr: err })
}
