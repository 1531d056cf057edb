//! `token_secret_command`: a command whose stdout is the token secret, as git credential
//! helpers and kubectl exec plugins work. It runs without a shell, with stdin closed, a
//! deadline and a bound on what it may print; its stderr is not shown (it may echo the
//! secret), only its exit status.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Secret;
use crate::error::{Error, Result};

/// How long the command may take.
const DEADLINE: Duration = Duration::from_secs(30);
/// The most stdout read: a secret is a UUID; anything longer is a misconfiguration.
const MAX_OUTPUT: u64 = 64 * 1024;

/// Runs `argv` and returns its trimmed stdout as a registered [`Secret`].
///
/// # Errors
/// `Usage` when the command cannot start, fails, times out, prints nothing or too much.
pub(crate) fn run(argv: &[String]) -> Result<Secret> {
    let (program, arguments) = argv.split_first().ok_or_else(|| Error::Usage("token_secret_command is empty".into()))?;
    let fail = |why: String| Error::Usage(format!("token_secret_command '{program}' {why}"));
    let mut child = Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("could not start: {e}")))?;
    let stdout = child.stdout.take().ok_or_else(|| fail("has no stdout".into()))?;
    // The reader thread ends when the child closes stdout or is killed.
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = stdout.take(MAX_OUTPUT + 1).read_to_end(&mut buf);
        r.map(|_| buf)
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() < DEADLINE => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("did not finish within {} s", DEADLINE.as_secs())));
            }
            Err(e) => return Err(fail(format!("could not be waited for: {e}"))),
        }
    };
    let out = reader.join().map_err(|_| fail("output reader panicked".into()))?.map_err(|e| fail(format!("output unreadable: {e}")))?;
    if !status.success() {
        return Err(fail(format!("failed ({status})")));
    }
    if out.len() as u64 > MAX_OUTPUT {
        return Err(fail(format!("printed more than {MAX_OUTPUT} bytes")));
    }
    let text = String::from_utf8(out).map_err(|_| fail("printed something that is not UTF-8".into()))?;
    let s = text.trim();
    if s.is_empty() {
        return Err(fail("printed nothing".into()));
    }
    Ok(Secret::new(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdout_is_the_secret_and_failures_are_usage_errors() {
        let s = run(&["printf".into(), "  s3cret-from-cmd\n".into()]).expect("runs");
        assert_eq!(s.expose(), "s3cret-from-cmd");
        assert!(matches!(run(&["false".into()]), Err(Error::Usage(_))));
        assert!(matches!(run(&["true".into()]), Err(Error::Usage(m)) if m.contains("nothing")));
        assert!(matches!(run(&["/nonexistent/helper".into()]), Err(Error::Usage(_))));
    }
}
