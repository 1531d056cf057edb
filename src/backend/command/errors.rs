//! Maps a failed `pvesh`/`qm`/`pct` run (exit code + stderr) to [`Error`].
//!
//! One function, tested against the real texts collected in `reference/ERRORS.md`. The exit
//! code is the verdict (FORMATS.md §0.1): any non-zero code is a failure; stderr says which.
//! The keyword lists that say what a PVE error text means ([`classify_text`]) are shared with
//! the REST backend's `classify_http`, which reads the same texts from HTTP answers.

use std::sync::LazyLock;

use regex::Regex;

use crate::error::Error;
use crate::model::clip;

static PERL_AT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r" at \S+ line \d+\.?$").expect("regex is valid"));
static PARAM_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^([A-Za-z0-9_.\[\]-]+): (.+)$").expect("regex is valid"));

/// Most bytes of PVE's headline kept in a message; its meaning is at the start.
const MAX_HEADLINE: usize = 200;
/// Most parameter errors kept, and bytes of each name and message.
const MAX_PARAMS: usize = 5;
const MAX_PARAM_NAME: usize = 32;
const MAX_PARAM_TEXT: usize = 110;

/// [`classify_cli_error`] only when PVE's text is one it knows (a missing, locked, stopped or
/// forbidden guest, a usage error): for a tool whose own exit code is data (`pct exec`), an
/// unknown text is the command's output, not `pct`'s refusal.
pub fn classify_known(program: &str, status: i32, stderr: &str) -> Option<Error> {
    let headline = stderr.lines().map(str::trim).find(|l| !l.is_empty())?;
    let known =
        classify_text(&strip_perl_location(headline)).is_some() || headline.starts_with("ERROR: ") || headline.starts_with("USAGE: ");
    known.then(|| classify_cli_error(program, status, stderr))
}

/// Classifies a failed command. `status` is the exit code, `stderr` its standard error,
/// `program` the tool that ran (for messages).
pub fn classify_cli_error(program: &str, status: i32, stderr: &str) -> Error {
    let text = stderr.trim();
    if status == 127 || text.ends_with("command not found") || text.contains("No such file or directory (os error") {
        let text = clip(text, MAX_HEADLINE);
        return Error::Transport { message: format!("{program} is not installed on the target (exit {status}): {text}"), source: None };
    }
    if text.starts_with("sudo:") {
        return Error::PermissionDenied(format!("sudo refused to run {program}: {}", clip(text, MAX_HEADLINE)));
    }
    // The first meaningful line is the message; later lines are parameter errors or usage.
    let lines: Vec<&str> = text.lines().collect();
    let headline = lines
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && !l.starts_with("trying to acquire lock") && *l != "OK" && !l.starts_with("WARN:"))
        .unwrap_or("");
    let headline = clip(&strip_perl_location(headline), MAX_HEADLINE);

    if let Some(rest) = headline.strip_prefix("400 ") {
        let params = lines
            .iter()
            .skip_while(|l| !l.starts_with("400 "))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .filter_map(|l| PARAM_LINE.captures(l.trim()).map(|c| (c[1].to_owned(), PERL_AT.replace(&c[2], "").into_owned())))
            .collect();
        return param_error(rest, params);
    }
    if headline.starts_with("595 ") || headline.starts_with("596 ") {
        // The node the call was proxied to did not answer: an offline node, not a bug.
        return Error::Transport { message: format!("node unreachable: {headline}"), source: None };
    }
    let class = classify_text(&headline);
    if class == Some(TextClass::PermissionDenied) {
        return Error::PermissionDenied(strip_code(&headline));
    }
    if headline.starts_with("ERROR: ") || headline.starts_with("USAGE: ") {
        return Error::Usage(format!("{program}: {}", headline.trim_start_matches("ERROR: ")));
    }
    match class {
        Some(c) => c.error(strip_code(&headline)),
        None if headline.is_empty() => Error::Api(format!("{program} failed with exit code {status} and no message")),
        None => Error::Api(strip_code(&headline)),
    }
}

/// What an error text means, whichever channel carried it (CLI stderr, an HTTP reason
/// phrase or `message`): the keyword lists live here once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextClass {
    /// `Permission check failed (...)`, `authentication failure`, `No ticket`, a `401 `/`403 ` prefix.
    PermissionDenied,
    /// `... does not exist`, `no such VM`, `Method '...' not implemented`, ...
    NotFound,
    /// `VM is locked (backup)`, `can't lock file`, `already running`, ...
    Conflict,
}

impl TextClass {
    /// The error of this class with `message`.
    pub(crate) fn error(self, message: String) -> Error {
        match self {
            Self::PermissionDenied => Error::PermissionDenied(message),
            Self::NotFound => Error::NotFound(message),
            Self::Conflict => Error::Conflict(message),
        }
    }
}

/// Classifies one error line (already stripped of Perl's ` at FILE line N.`) by PVE's texts
/// (reference/ERRORS.md); `None` when it names none of the classes.
pub(crate) fn classify_text(headline: &str) -> Option<TextClass> {
    let lower = headline.to_ascii_lowercase();
    if headline.starts_with("403 ")
        || headline.starts_with("401 ")
        || lower.contains("permission check failed")
        || lower.contains("permission denied")
        || lower.contains("authentication fail")
        || headline == "No ticket"
    {
        return Some(TextClass::PermissionDenied);
    }
    if lower.contains("does not exist")
        || lower.contains("no such vm")
        || lower.contains("no such task")
        || lower.contains("no such resource")
        || lower.contains("no such cluster node")
        || lower.contains("unable to find configuration file")
        || (lower.starts_with("no '") && lower.contains("handler"))
        || lower.starts_with("method '") && lower.contains("not implemented")
    {
        return Some(TextClass::NotFound);
    }
    if lower.contains("is locked (")
        || lower.contains("can't lock file")
        || lower.contains("cfs-lock")
        || lower.contains("already running")
        || lower.contains(" not running")
        || lower.contains("is running - ")
        || lower.contains("already used")
        || lower.contains("already exists")
        || lower.contains("is a template")
        || lower.contains("if it's a template")
        || lower.contains("if vm is a template")
        // A stale config digest: someone else changed the config (pve-common/qemu-server
        // `assert_if_modified`); PVE's delete refusals (qemu-server API2/Qemu.pm destroy_vm,
        // pve-container API2/LXC.pm): the guest's state forbids it.
        || lower.contains("detected modified configuration")
        || lower.contains("protection mode enabled")
        || lower.contains("container is running")
        || lower.contains("purge parameter not set")
    {
        return Some(TextClass::Conflict);
    }
    None
}

/// A 400 with parameter errors: `InvalidParameter` with at most [`MAX_PARAMS`] of them, each
/// clipped. When every one says its object is missing (`upid: no such task`, PVE's answer for
/// a task the node never had: pve-manager `PVE/API2/Tasks.pm`) it is `NotFound` instead: the
/// parameter was well-formed, the thing it names does not exist.
pub(crate) fn param_error(message: &str, params: Vec<(String, String)>) -> Error {
    let missing = !params.is_empty() && params.iter().all(|(_, m)| classify_text(m) == Some(TextClass::NotFound));
    let more = params.len().saturating_sub(MAX_PARAMS);
    let mut params: Vec<(String, String)> =
        params.into_iter().take(MAX_PARAMS).map(|(k, m)| (clip(&k, MAX_PARAM_NAME), clip(&m, MAX_PARAM_TEXT))).collect();
    if missing {
        return Error::NotFound(params.iter().map(|(k, m)| format!("{k}: {m}")).collect::<Vec<_>>().join("; "));
    }
    if more > 0 {
        params.push(("…".to_owned(), format!("{more} more")));
    }
    Error::InvalidParameter { message: clip(message, MAX_HEADLINE), params }
}

/// `s` cut for a message (see [`MAX_HEADLINE`]).
pub(crate) fn clip_headline(s: &str) -> String {
    clip(s, MAX_HEADLINE)
}

/// Removes Perl's ` at /usr/share/perl5/... line N.` suffix from a `die` text.
pub(crate) fn strip_perl_location(s: &str) -> String {
    PERL_AT.replace(s, "").into_owned()
}

/// Removes a leading `NNN ` HTTP code that PVE exceptions carry.
pub(crate) fn strip_code(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() > 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b' ' { s[4..].to_owned() } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Texts from reference/ERRORS.md (each row cites its origin there).
    #[rstest]
    #[case("Configuration file 'nodes/pve1/qemu-server/105.conf' does not exist\n", "not_found")]
    #[case("Configuration file 'nodes/pve/lxc/120.conf' does not exist at /usr/share/perl5/PVE/AbstractConfig.pm line 58.\n", "not_found")]
    #[case("no such VM ('999')\n", "not_found")]
    #[case("No 'get' handler defined for '/nodes/pve01/lxc/122/status/tasks'\n", "not_found")]
    #[case("unable to find configuration file for VM 100 on node 'pve2'\n", "not_found")]
    #[case("snapshot 'foo' does not exist\n", "not_found")]
    #[case("403 Permission check failed (/vms/100, VM.PowerMgmt)\n", "permission_denied")]
    #[case("Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)\n", "permission_denied")]
    #[case("VM is locked (backup)\n", "conflict")]
    #[case("CT is locked (snapshot-delete)\n", "conflict")]
    #[case("trying to acquire lock...\ncan't lock file '/var/lock/qemu-server/lock-102.conf' - got timeout\n", "conflict")]
    #[case("VM 110 not running\n", "conflict")]
    #[case("CT 101 already running\n", "conflict")]
    #[case("snapshot name 'x' already used\n", "conflict")]
    #[case("you can't start a vm if it's a template\n", "conflict")]
    #[case("ERROR: unknown command 'qm lst'\nUSAGE: qm <COMMAND> [ARGS] [OPTIONS]\n", "usage")]
    #[case("sudo: a password is required\n", "permission_denied")]
    #[case("VM quit/powerdown failed - got timeout\n", "api")]
    fn classifies_real_texts(#[case] stderr: &str, #[case] kind: &str) {
        assert_eq!(classify_cli_error("pvesh", 255, stderr).kind(), kind, "{stderr}");
    }

    #[test]
    fn parameter_errors_keep_each_parameter() {
        // samples/cli-error/1.txt
        let e = classify_cli_error(
            "pvecm",
            255,
            "400 Parameter verification failed.\nnode: invalid format - value does not look like a valid node name\n\npvecm delnode <node>\n",
        );
        match e {
            Error::InvalidParameter { message, params } => {
                assert_eq!(message, "Parameter verification failed.");
                assert_eq!(params, vec![("node".to_owned(), "invalid format - value does not look like a valid node name".to_owned())]);
            }
            other => panic!("expected InvalidParameter, got {other:?}"),
        }
    }

    #[test]
    fn unknown_task_is_not_found() {
        // PM:PVE/API2/Tasks.pm read_task_status: raise_param_exc({ upid => "no such task" }).
        let e = classify_cli_error("pvesh", 255, "400 Parameter verification failed.\nupid: no such task\n");
        assert_eq!((e.kind(), e.exit_code(), e.to_string().as_str()), ("not_found", 5, "upid: no such task"));
        let e = classify_cli_error("pvesh", 255, "400 Parameter verification failed.\nupid: unable to parse worker upid\n");
        assert_eq!(e.kind(), "invalid_parameter");
    }

    #[test]
    fn a_huge_error_text_gives_a_short_message() {
        let mib = 1 << 20;
        let long_line = format!("VM is locked (backup) {}\n", "x".repeat(mib));
        let many_params =
            format!("400 Parameter verification failed.\n{}", format!("{}: {}\n", "p".repeat(100), "y".repeat(200)).repeat(mib / 300));
        let many_lines = format!("{}\n", "z\n".repeat(mib / 2));
        for (status, text) in
            [(255, long_line.as_str()), (255, many_params.as_str()), (255, many_lines.as_str()), (127, long_line.as_str())]
        {
            assert!(text.len() >= mib);
            let e = classify_cli_error("pvesh", status, text);
            let m = e.to_string();
            assert!(m.len() < 1024, "{} bytes: {}", m.len(), &m[..200]);
        }
        let e = classify_cli_error("pvesh", 255, &long_line);
        assert_eq!(e.kind(), "conflict");
        assert!(e.to_string().starts_with("VM is locked (backup) xxx") && e.to_string().ends_with('…'));
        let e = classify_cli_error("sudo", 1, &format!("sudo: {}", "s".repeat(mib)));
        assert!(e.to_string().len() < 1024);
    }

    #[test]
    fn missing_tool_is_transport() {
        assert_eq!(classify_cli_error("pvesh", 127, "bash: line 1: pvesh: command not found\n").kind(), "transport");
    }

    #[test]
    fn perl_location_suffix_is_dropped() {
        let e = classify_cli_error(
            "qm",
            255,
            "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist at /usr/share/perl5/PVE/AbstractConfig.pm line 58.\n",
        );
        assert_eq!(e.to_string(), "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist");
    }
}
