//! Build-time facts: rebuild the fixture tests when a sample is added to `fixtures/` (rstest
//! `#[files]` reads the folder at compile time), and record for `pvectl version` the git
//! commit (`git rev-parse --short HEAD`, else `unknown`: a source tarball has no `.git`) and
//! the target triple the binary is built for. A packager building outside git sets
//! `PVECTL_GIT_COMMIT` instead.

use std::process::Command;

/// `git <args>`'s first output line, when git runs and succeeds.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let line = text.lines().next()?.trim().to_owned();
    (!line.is_empty()).then_some(line)
}

fn main() {
    println!("cargo::rerun-if-changed=fixtures");
    println!("cargo::rerun-if-env-changed=PVECTL_GIT_COMMIT");
    let commit = std::env::var("PVECTL_GIT_COMMIT").ok().or_else(|| git(&["rev-parse", "--short", "HEAD"]));
    // A hex id only: whatever git printed is not trusted into the binary's output.
    let commit = commit.filter(|c| !c.is_empty() && c.len() <= 40 && c.bytes().all(|b| b.is_ascii_hexdigit()));
    println!("cargo::rustc-env=PVECTL_GIT_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
    // A new commit changes HEAD (detached) or the branch's ref; only existing files are
    // watched (a missing one would rerun this script on every build).
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
        watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    }
    for path in watched.into_iter().flatten() {
        if std::path::Path::new(&path).exists() {
            println!("cargo::rerun-if-changed={path}");
        }
    }
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo::rustc-env=PVECTL_BUILD_TARGET={target}");
}
