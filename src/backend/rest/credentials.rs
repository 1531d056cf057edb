//! API token credentials: the token id (`user@realm!tokenid`, not secret), the secret (never
//! printed), and the order of the places they are read from.
//!
//! Each value is taken from the first source that has it:
//! 1. flags: `--token-id user@realm!tokenid`, `--token-secret-file PATH`. No flag takes the
//!    secret itself: a command line is visible to every local user (`ps`, `/proc/<pid>/cmdline`)
//!    and lands in shell history;
//! 2. environment: `PROXMOX_HOST`, `PROXMOX_TOKEN_ID`, `PROXMOX_TOKEN_SECRET`;
//! 3. environment, the other common spelling: `PVE_HOST`, `PVE_USER` + `PVE_TOKEN_ID` (joined
//!    as `PVE_USER!PVE_TOKEN_ID`, or `PVE_TOKEN_ID` alone when it already holds a `!`),
//!    `PVE_TOKEN_SECRET`;
//! 4. `~/.proxmox-credentials`: `KEY=VALUE` lines with the keys of 2 and 3;
//! 5. the selected target of the config file (`token_id`, `token_secret_file`).
//!
//! A file holding a secret (the credentials file, a `token_secret_file`) must not be readable
//! by group or others: it is refused with a `chmod 600` hint, as ssh refuses a private key.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::settings::{Endpoint, TargetEntry};
use crate::error::{Error, Result};

/// An API token id, `user@realm!tokenid` (PVE's `pve-userid` + `!` + `pve-tokenid`). Not a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenId {
    user: String,
    realm: String,
    token: String,
}

impl TokenId {
    /// The user part, `root` in `root@pam!pvectl`.
    pub fn user(&self) -> &str {
        &self.user
    }
    /// The realm, `pam` in `root@pam!pvectl`.
    pub fn realm(&self) -> &str {
        &self.realm
    }
    /// The token name, `pvectl` in `root@pam!pvectl`.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl FromStr for TokenId {
    type Err = Error;

    /// Parses `user@realm!tokenid`. The user may itself hold `@` (`john@example.com@pve`), so
    /// the realm is what follows the last `@`. Realm and token id follow PVE's formats: a
    /// letter, then letters, digits, `-`, `_` (and `.` in the token id).
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::Usage(format!("invalid API token id '{s}': {why}; expected user@realm!tokenid, e.g. root@pam!pvectl"));
        let (userid, token) = s.split_once('!').ok_or_else(|| bad("no '!'"))?;
        let (user, realm) = userid.rsplit_once('@').ok_or_else(|| bad("no '@realm'"))?;
        if user.is_empty() || user.len() > 64 || user.chars().any(|c| c.is_whitespace() || c.is_control() || c == ':' || c == '/') {
            return Err(bad("bad user name"));
        }
        let ident = |v: &str, extra: &[u8]| {
            let b = v.as_bytes();
            b.len() >= 2
                && b[0].is_ascii_alphabetic()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_".contains(c) || extra.contains(c))
        };
        if !ident(realm, b"") {
            return Err(bad("bad realm"));
        }
        if !ident(token, b".") {
            return Err(bad("bad token name"));
        }
        Ok(Self { user: user.to_owned(), realm: realm.to_owned(), token: token.to_owned() })
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}!{}", self.user, self.realm, self.token)
    }
}

/// The token secret (a UUID as PVE issues it). `Debug` and `Display` print `***`; only
/// [`Secret::expose`] gives the value, and only the HTTP `Authorization` header uses it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value, and registers it with [`crate::redact`] so it is removed from
    /// every text pvectl prints or records, wherever it shows up.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::redact::register(&value);
        Self(value)
    }
    /// The value, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A token id and its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `user@realm!tokenid`.
    pub token_id: TokenId,
    /// The secret.
    pub secret: Secret,
}

impl Credentials {
    /// The `Authorization` header value: `PVEAPIToken=USER@REALM!TOKENID=SECRET`. Holds the
    /// secret: for the request only.
    pub(crate) fn authorization(&self) -> String {
        format!("PVEAPIToken={}={}", self.token_id, self.secret.expose())
    }
}

/// The credential flags of the command line.
#[derive(Debug, Clone, Default)]
pub struct CredentialFlags {
    /// `--token-id`.
    pub token_id: Option<String>,
    /// `--token-secret-file`.
    pub token_secret_file: Option<PathBuf>,
}

/// Where credentials are looked up, as explicit inputs (tests pass their own environment).
pub struct CredentialSources<'a> {
    /// The flags.
    pub flags: &'a CredentialFlags,
    /// An environment lookup (`std::env::var` in the binary).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// `~/.proxmox-credentials`, read only when a value is still missing after flags and env.
    pub credentials_file: Option<&'a Path>,
    /// The selected config-file target, if `-t` named one.
    pub target: Option<&'a TargetEntry>,
}

/// What the sources gave: the host from the environment or files (for when `-t` names none),
/// and the credentials.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `PROXMOX_HOST`, `PVE_HOST`, the credentials file's host, or the target's `url`.
    pub host: Option<Endpoint>,
    /// The token, when every part was found.
    pub credentials: Option<Credentials>,
}

/// One source's view as `KEY -> value` (the environment or the credentials file).
fn from_map(get: &dyn Fn(&str) -> Option<String>) -> (Option<String>, Option<String>, Option<String>) {
    let get = |k: &str| get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let host = get("PROXMOX_HOST").or_else(|| get("PVE_HOST"));
    let id = get("PROXMOX_TOKEN_ID").or_else(|| match (get("PVE_USER"), get("PVE_TOKEN_ID")) {
        (_, Some(t)) if t.contains('!') => Some(t),
        (Some(u), Some(t)) => Some(format!("{u}!{t}")),
        _ => None,
    });
    let secret = get("PROXMOX_TOKEN_SECRET").or_else(|| get("PVE_TOKEN_SECRET"));
    (host, id, secret)
}

/// Resolves host, token id and secret, each from the first source that has it.
///
/// # Errors
/// `Usage` for a malformed token id or host, an unreadable secret file, or a secret file
/// readable by group or others (with the `chmod 600` hint).
pub fn resolve(src: &CredentialSources<'_>) -> Result<Resolved> {
    let (env_host, env_id, env_secret) = from_map(src.env);
    let mut host = env_host;
    let mut id = src.flags.token_id.clone().or(env_id);
    let mut secret = match &src.flags.token_secret_file {
        Some(p) => Some(read_secret_file(p)?),
        None => env_secret.map(Secret::new),
    };
    if (host.is_none() || id.is_none() || secret.is_none())
        && let Some(path) = src.credentials_file.filter(|p| p.exists())
    {
        let map = read_credentials_file(path)?;
        let (h, i, s) = from_map(&|k| map.get(k).cloned());
        host = host.or(h);
        id = id.or(i);
        secret = secret.or(s.map(Secret::new));
    }
    if let Some(t) = src.target {
        host = host.or_else(|| t.url.clone());
        id = id.or_else(|| t.token_id.clone());
        if secret.is_none() {
            secret = t.secret(src.env)?;
        }
    }
    let host = host.as_deref().map(Endpoint::parse_lenient).transpose()?;
    let credentials = match (id, secret) {
        (Some(id), Some(secret)) => Some(Credentials { token_id: id.parse()?, secret }),
        (Some(id), None) => {
            id.parse::<TokenId>()?;
            None
        }
        _ => None,
    };
    Ok(Resolved { host, credentials })
}

/// Refuses a secret file that group or others may read or write (any of mode `0o077`).
///
/// # Errors
/// `Usage` naming the mode and the `chmod 600 <path>` fix.
pub fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::Usage(format!(
            "{} holds an API token secret but is accessible by group or others (mode {mode:04o}); run: chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Reads a token secret file: mode checked, surrounding whitespace removed, not empty.
///
/// # Errors
/// `Usage` when unreadable, too open, or empty.
pub fn read_secret_file(path: &Path) -> Result<Secret> {
    check_private(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| Error::Usage(format!("cannot read token secret file {}: {e}", path.display())))?;
    let s = text.trim();
    if s.is_empty() {
        return Err(Error::Usage(format!("token secret file {} is empty", path.display())));
    }
    Ok(Secret::new(s))
}

/// Reads `KEY=VALUE` lines (blank lines and `#` comments skipped, an `export ` prefix and
/// matching quotes around the value allowed). The file must be private ([`check_private`]).
///
/// # Errors
/// `Usage` when unreadable, too open, or a line is not `KEY=VALUE`.
pub fn read_credentials_file(path: &Path) -> Result<HashMap<String, String>> {
    check_private(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
    parse_key_values(&text).map_err(|line| Error::Usage(format!("{}: line {line} is not KEY=VALUE", path.display())))
}

/// Parses `KEY=VALUE` lines; the error is the 1-based number of the bad line (never its
/// text, which may hold the secret).
pub(crate) fn parse_key_values(text: &str) -> std::result::Result<HashMap<String, String>, usize> {
    let mut map = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").unwrap_or(l);
        let (k, v) = l.split_once('=').ok_or(i + 1)?;
        let k = k.trim();
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(i + 1);
        }
        let v = v.trim();
        let v = [('"', '"'), ('\'', '\'')].iter().find_map(|(a, b)| v.strip_prefix(*a).and_then(|r| r.strip_suffix(*b))).unwrap_or(v);
        map.insert(k.to_owned(), v.to_owned());
    }
    Ok(map)
}

#[cfg(test)]
#[path = "credentials_tests.rs"]
mod tests;
