//! The private directory that holds SSH control sockets, lock files and master logs, and
//! how files are opened in it.
//!
//! Whoever can write to that directory can replace a control socket with their own and see
//! (or alter) every command pvectl sends. So the directory is checked, never repaired: it
//! must be a real directory (not a symlink), owned by the effective uid, with no access for
//! group or others. A directory that fails is refused with the reason; changing its mode
//! and using it anyway would hand over a directory someone else may already have planted
//! files in. There is no shared fallback in `/tmp`, whose names anyone can take first.

use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The private directory holding master sockets: `$PVECTL_RUNTIME_DIR`, else
/// `$XDG_RUNTIME_DIR/pvectl`, else `~/.cache/pvectl/ssh`. Created mode 0700 (with its
/// parents) when missing, then checked as [`check_private_dir`] does.
///
/// # Errors
/// `Transport` when no directory can be chosen (none of those variables is set), when it
/// cannot be created, or when it is a symlink, not a directory, owned by another user or
/// open to group or others.
pub fn control_dir() -> Result<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = var("PVECTL_RUNTIME_DIR")
        .or_else(|| var("XDG_RUNTIME_DIR").map(|d| d.join("pvectl")))
        .or_else(|| var("HOME").map(|h| h.join(".cache/pvectl/ssh")))
        .ok_or_else(|| Error::Transport {
            message: "cannot choose an ssh control directory: none of PVECTL_RUNTIME_DIR, XDG_RUNTIME_DIR and HOME is set; \
                      set PVECTL_RUNTIME_DIR to a directory of your own with mode 0700"
                .into(),
            source: None,
        })?;
    create_private_dir(&dir)?;
    check_private_dir(&dir)?;
    Ok(dir)
}

/// Creates `dir` and its missing parents, each mode 0700. An existing `dir` is left as it
/// is (the check that follows judges it).
fn create_private_dir(dir: &Path) -> Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::transport(format!("failed to create the ssh control directory {}", dir.display()), e)),
        Err(e) => Err(Error::transport(format!("failed to read the ssh control directory {}", dir.display()), e)),
    }
}

/// Checks that `dir` is private to this user: not a symlink (checked with `lstat`), a
/// directory, owned by the effective uid, and `mode & 0o077 == 0`. Never changes it.
///
/// # Errors
/// `Transport` naming the first check that failed.
pub fn check_private_dir(dir: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| Error::transport(format!("failed to read the ssh control directory {}", dir.display()), e))?;
    let euid = effective_uid();
    let mode = meta.mode() & 0o7777;
    let why = if meta.file_type().is_symlink() {
        Some("is a symlink".to_owned())
    } else if !meta.is_dir() {
        Some("is not a directory".to_owned())
    } else if meta.uid() != euid {
        Some(format!("is owned by uid {}, not by uid {euid} who runs pvectl", meta.uid()))
    } else if mode & 0o077 != 0 {
        Some(format!("has mode {mode:04o}, open to group or others"))
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Error::Transport {
            message: format!(
                "the ssh control directory {} {why}; refusing to use it (it must be a directory owned by you with mode 0700; \
                 fix it or set PVECTL_RUNTIME_DIR to another one)",
                dir.display()
            ),
            source: None,
        }),
    }
}

/// The effective uid of this process.
fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Opens (creating it mode 0600 if missing) `path` for appending, and for reading when
/// `read` is set, without following a symlink in its last component (`O_NOFOLLOW`): a
/// planted link fails with `ELOOP` instead of redirecting the write.
pub(super) fn open_private_file(path: &Path, read: bool) -> std::io::Result<File> {
    std::fs::OpenOptions::new().create(true).append(true).read(read).mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::Builder::new().prefix("pvectl-dir-").tempdir().expect("temp dir")
    }

    fn refusal(dir: &Path) -> String {
        let err = check_private_dir(dir).expect_err("must be refused");
        assert_eq!(err.exit_code(), 9, "{err}");
        let text = err.to_string();
        assert!(text.contains("refusing to use it"), "{text}");
        text
    }

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).expect("lstat").mode() & 0o7777
    }

    #[test]
    fn a_fresh_private_dir_is_accepted() {
        let t = tmp();
        let d = t.path().join("a/b/ssh");
        create_private_dir(&d).expect("create");
        check_private_dir(&d).expect("a fresh dir is private");
        assert_eq!(mode(&d), 0o700);
        assert_eq!(mode(&t.path().join("a")), 0o700, "parents are created private too");
    }

    #[test]
    fn a_symlink_is_refused_even_to_a_private_dir() {
        let t = tmp();
        let real = t.path().join("real");
        create_private_dir(&real).expect("create");
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        assert!(refusal(&link).contains("is a symlink"));
    }

    #[test]
    fn an_open_dir_is_refused_and_left_as_it_is() {
        let t = tmp();
        let d = t.path().join("open");
        std::fs::create_dir(&d).expect("mkdir");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        assert!(refusal(&d).contains("has mode 0777"));
        // create_private_dir does not repair an existing dir either.
        create_private_dir(&d).expect("exists");
        assert!(check_private_dir(&d).is_err());
        assert_eq!(mode(&d), 0o777, "the bad dir's mode is never changed");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o750)).expect("chmod");
        assert!(refusal(&d).contains("has mode 0750"));
    }

    #[test]
    fn a_file_is_refused() {
        let t = tmp();
        let f = t.path().join("file");
        std::fs::write(&f, "").expect("write");
        assert!(refusal(&f).contains("is not a directory"));
    }

    #[test]
    fn a_dir_of_another_user_is_refused() {
        if effective_uid() != 0 {
            eprintln!("skipped: chown to another uid needs root");
            return;
        }
        let t = tmp();
        let d = t.path().join("theirs");
        create_private_dir(&d).expect("create");
        std::os::unix::fs::chown(&d, Some(65534), Some(65534)).expect("chown");
        assert!(refusal(&d).contains("is owned by uid 65534"));
        assert_eq!(mode(&d), 0o700);
        assert_eq!(std::fs::symlink_metadata(&d).expect("lstat").uid(), 65534, "the owner is never changed");
    }

    #[test]
    fn private_files_do_not_follow_symlinks() {
        let t = tmp();
        let target = t.path().join("target");
        std::fs::write(&target, "x").expect("write");
        let link = t.path().join("m.log");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(open_private_file(&link, false).is_err(), "a planted symlink is not followed");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "x");
        let f = t.path().join("new.lock");
        open_private_file(&f, true).expect("create");
        assert_eq!(mode(&f), 0o600);
    }
}
