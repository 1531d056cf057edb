//! Secrets never leave the process (DESIGN.md §2): every text pvectl prints or records —
//! data, errors, plans, traces, audit records — passes [`redact`], which replaces
//!
//! - each secret registered with [`register`] (token secrets once read), wherever it appears,
//!   also inside an echoed header or a server's reflected message;
//! - the secret part of an API token written in its header form (`user@realm!id=SECRET`,
//!   `PVEAPIToken=user@realm!id=SECRET`), also when a user put it into `--token-id`;
//! - the password of a URL's userinfo (`https://user:SECRET@host`).
//!
//! with `***`.

use std::borrow::Cow;
use std::sync::{Mutex, OnceLock, PoisonError};

fn registry() -> &'static Mutex<Vec<String>> {
    static SECRETS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Registers a secret so [`redact`] removes it from every later text. Values shorter than
/// 4 characters are not registered: they would blank out ordinary words.
pub fn register(secret: &str) {
    let s = secret.trim();
    if s.len() < 4 {
        return;
    }
    let mut r = registry().lock().unwrap_or_else(PoisonError::into_inner);
    if !r.iter().any(|x| x == s) {
        r.push(s.to_owned());
    }
}

/// `text` with every known secret and secret-shaped part replaced by `***`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for s in registry().lock().unwrap_or_else(PoisonError::into_inner).iter() {
        if out.contains(s.as_str()) {
            out = Cow::Owned(out.replace(s.as_str(), "***"));
        }
    }
    if let Some(t) = token_form(&out) {
        out = Cow::Owned(t);
    }
    if let Some(t) = url_password(&out) {
        out = Cow::Owned(t);
    }
    out
}

/// `user@realm!tokenid=SECRET`: what follows the `=` after a `!tokenid`, up to a blank, quote
/// or separator, becomes `***`.
fn token_form(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(bang) = rest.find('!') {
        let after = &rest[bang + 1..];
        let id_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(after.len());
        let word_start = rest[..bang].rfind(|c: char| c.is_whitespace() || "\"'=(:,;".contains(c)).map_or(0, |i| i + 1);
        let at_user = rest[word_start..bang].contains('@');
        if at_user && id_len > 0 && after[id_len..].starts_with('=') {
            let secret = &after[id_len + 1..];
            let end = secret.find(|c: char| c.is_whitespace() || "\"',;)}]".contains(c)).unwrap_or(secret.len());
            if end > 0 {
                out.push_str(&rest[..=bang + id_len + 1]);
                out.push_str("***");
                rest = &secret[end..];
                changed = true;
                continue;
            }
        }
        out.push_str(&rest[..=bang]);
        rest = after;
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// `scheme://user:SECRET@host`: the password becomes `***`.
fn url_password(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(i) = rest.find("://") {
        let (head, after) = rest.split_at(i + 3);
        out.push_str(head);
        let auth_end = after.find(|c: char| c == '/' || c.is_whitespace() || c == '"').unwrap_or(after.len());
        let authority = &after[..auth_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
                changed = true;
            }
            _ => out.push_str(authority),
        }
        rest = &after[auth_end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_url_forms() {
        assert_eq!(redact("bad token id 'u@pam!t=0b5e-secret'"), "bad token id 'u@pam!t=***'");
        assert_eq!(redact("Authorization: PVEAPIToken=ops@pve!ci=abc123 next"), "Authorization: PVEAPIToken=ops@pve!ci=*** next");
        assert_eq!(redact("https://root:hunter2@pve1:8006/api2"), "https://root:***@pve1:8006/api2");
        assert_eq!(redact("ssh://root@pve1 and a!b=c"), "ssh://root@pve1 and a!b=c", "no user@ before the !");
        assert_eq!(redact("plain text"), "plain text");
    }

    #[test]
    fn registered_secrets_vanish_anywhere() {
        register("s3cr3t-value-xyz");
        assert_eq!(redact("server said: bad s3cr3t-value-xyz!"), "server said: bad ***!");
        register("ab");
        assert_eq!(redact("ab"), "ab", "too short to register");
    }
}
