//! Token id parsing, source precedence (explicit inputs, never the process environment), and
//! refusal of secret files that others can read.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;

use super::*;

const SECRET: &str = "5f4dcc3b-aaaa-bbbb-cccc-0123456789ab";

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let m: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |k: &str| m.get(k).cloned()
}

fn private_file(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    p
}

fn resolve_with(
    flags: &CredentialFlags,
    env: &dyn Fn(&str) -> Option<String>,
    file: Option<&Path>,
    target: Option<&TargetEntry>,
) -> Result<Resolved> {
    resolve(&CredentialSources { flags, env, credentials_file: file, target })
}

#[test]
fn token_ids_parse() {
    let t: TokenId = "root@pam!pvectl".parse().expect("valid");
    assert_eq!((t.user(), t.realm(), t.token()), ("root", "pam", "pvectl"));
    assert_eq!(t.to_string(), "root@pam!pvectl");
    let t: TokenId = "john@example.com@pve!ops.1".parse().expect("user with @");
    assert_eq!((t.user(), t.realm(), t.token()), ("john@example.com", "pve", "ops.1"));
    for bad in
        ["root@pam", "root!tok", "@pam!tok", "root@pam!", "root@p!tok", "root@pam!1tok", "ro ot@pam!tok", "root@pam!to/k", "root@pam!tok=x"]
    {
        assert!(matches!(bad.parse::<TokenId>(), Err(Error::Usage(_))), "{bad}");
    }
}

#[test]
fn secret_never_prints() {
    let c = Credentials { token_id: "root@pam!pvectl".parse().expect("id"), secret: Secret::new(SECRET) };
    assert_eq!(format!("{}", c.secret), "***");
    assert!(!format!("{c:?}").contains(SECRET));
    assert!(!format!("{c:#?}").contains(SECRET));
    assert_eq!(c.authorization(), format!("PVEAPIToken=root@pam!pvectl={SECRET}"));
}

#[test]
fn flags_win_over_env() {
    let dir = tempfile::tempdir().expect("dir");
    let sf = private_file(dir.path(), "s", &format!("{SECRET}\n"), 0o600);
    let flags = CredentialFlags { token_id: Some("a@pve!flag".into()), token_secret_file: Some(sf) };
    let env = env_of(&[("PROXMOX_TOKEN_ID", "b@pve!env"), ("PROXMOX_TOKEN_SECRET", "env-secret")]);
    let r = resolve_with(&flags, &env, None, None).expect("ok");
    let c = r.credentials.expect("credentials");
    assert_eq!(c.token_id.to_string(), "a@pve!flag");
    assert_eq!(c.secret.expose(), SECRET);
}

#[test]
fn each_value_from_its_first_source() {
    // Token id from the flag, secret from the environment.
    let flags = CredentialFlags { token_id: Some("a@pve!flag".into()), token_secret_file: None };
    let env = env_of(&[("PROXMOX_TOKEN_SECRET", "env-secret"), ("PROXMOX_HOST", "pve1:8443")]);
    let r = resolve_with(&flags, &env, None, None).expect("ok");
    assert_eq!(r.credentials.expect("c").secret.expose(), "env-secret");
    assert_eq!(r.host.expect("host").to_string(), "https://pve1:8443");
}

#[test]
fn proxmox_env_wins_over_pve_env() {
    let env = env_of(&[
        ("PROXMOX_HOST", "https://a"),
        ("PROXMOX_TOKEN_ID", "a@pve!one"),
        ("PROXMOX_TOKEN_SECRET", "s1"),
        ("PVE_HOST", "b"),
        ("PVE_USER", "b@pve"),
        ("PVE_TOKEN_ID", "two"),
        ("PVE_TOKEN_SECRET", "s2"),
    ]);
    let r = resolve_with(&CredentialFlags::default(), &env, None, None).expect("ok");
    assert_eq!(r.host.expect("h").host, "a");
    let c = r.credentials.expect("c");
    assert_eq!((c.token_id.to_string().as_str(), c.secret.expose()), ("a@pve!one", "s1"));
}

#[test]
fn pve_env_joins_user_and_token() {
    let env = env_of(&[("PVE_HOST", "b"), ("PVE_USER", "b@pve"), ("PVE_TOKEN_ID", "two"), ("PVE_TOKEN_SECRET", "s2")]);
    let c = resolve_with(&CredentialFlags::default(), &env, None, None).expect("ok").credentials.expect("c");
    assert_eq!(c.token_id.to_string(), "b@pve!two");
    // PVE_TOKEN_ID holding the whole id is taken as it is.
    let env = env_of(&[("PVE_TOKEN_ID", "c@pam!three"), ("PVE_TOKEN_SECRET", "s3")]);
    let c = resolve_with(&CredentialFlags::default(), &env, None, None).expect("ok").credentials.expect("c");
    assert_eq!(c.token_id.to_string(), "c@pam!three");
}

#[test]
fn credentials_file_then_config_target() {
    let dir = tempfile::tempdir().expect("dir");
    let file = private_file(dir.path(), "creds", "# comment\nexport PROXMOX_HOST=https://filehost\nPROXMOX_TOKEN_ID='f@pve!file'\n", 0o600);
    let tsf = private_file(dir.path(), "t.secret", "target-secret", 0o600);
    let target = TargetEntry {
        url: Some("https://cfg".into()),
        token_id: Some("t@pve!cfg".into()),
        token_secret_file: Some(tsf),
        ..TargetEntry::default()
    };
    let none = env_of(&[]);
    let r = resolve_with(&CredentialFlags::default(), &none, Some(&file), Some(&target)).expect("ok");
    assert_eq!(r.host.expect("h").host, "filehost");
    let c = r.credentials.expect("c");
    assert_eq!(c.token_id.to_string(), "f@pve!file");
    assert_eq!(c.secret.expose(), "target-secret");
    // Environment before the file.
    let env = env_of(&[("PVE_TOKEN_SECRET", "env")]);
    let c = resolve_with(&CredentialFlags::default(), &env, Some(&file), Some(&target)).expect("ok").credentials.expect("c");
    assert_eq!(c.secret.expose(), "env");
}

#[test]
fn nothing_found_is_no_credentials() {
    let none = env_of(&[]);
    let r = resolve_with(&CredentialFlags::default(), &none, Some(Path::new("/nonexistent/creds")), None).expect("ok");
    assert!(r.host.is_none() && r.credentials.is_none());
}

#[test]
fn bad_token_id_is_refused_even_without_secret() {
    let env = env_of(&[("PROXMOX_TOKEN_ID", "root@pam")]);
    assert!(matches!(resolve_with(&CredentialFlags::default(), &env, None, None), Err(Error::Usage(_))));
}

#[test]
fn open_secret_files_are_refused_with_chmod_hint() {
    let dir = tempfile::tempdir().expect("dir");
    for mode in [0o644, 0o640, 0o604, 0o660] {
        let p = private_file(dir.path(), &format!("s{mode:o}"), SECRET, mode);
        let e = read_secret_file(&p).expect_err("refused");
        let msg = e.to_string();
        assert!(msg.contains(&format!("chmod 600 {}", p.display())), "{msg}");
        assert!(!msg.contains(SECRET), "{msg}");
        let flags = CredentialFlags { token_id: None, token_secret_file: Some(p.clone()) };
        assert!(resolve_with(&flags, &env_of(&[]), None, None).is_err());
        let e = read_credentials_file(&p).expect_err("refused");
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }
    let ok = private_file(dir.path(), "ok", SECRET, 0o400);
    assert_eq!(read_secret_file(&ok).expect("0400 is fine").expose(), SECRET);
    let empty = private_file(dir.path(), "empty", "\n", 0o600);
    assert!(read_secret_file(&empty).is_err());
}

#[test]
fn key_value_errors_name_the_line_not_its_text() {
    assert_eq!(parse_key_values("A=1\nthis is s3cret\n"), Err(2));
    let m = parse_key_values("A = \"x y\"\n\n# c\nexport B=z=w\n").expect("parses");
    assert_eq!(m.get("A").map(String::as_str), Some("x y"));
    assert_eq!(m.get("B").map(String::as_str), Some("z=w"));
}
