//! [`SimError`]: a PVE exception as the simulator raises it, and how each face prints it.
//!
//! PVE's `PVE::Exception` carries an optional HTTP code, a message and per-parameter
//! messages (pve-common `src/PVE/Exception.pm`); the CLI prints `"<code> <msg>"` (or just
//! `<msg>`) then one `<param>: <error>` line each, exits 255 (FORMATS.md §0.1). pvesh's
//! own "no handler" check prints `No '<cmd>' handler defined for '<path>'` and exits 1
//! (FORMATS.md §5.1). Texts used here are listed in `reference/ERRORS.md`.

use std::fmt;

use crate::backend::api::Method;
use crate::model::GuestKind;

use super::state::SimGuest;

/// A PVE exception raised by the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimError {
    /// HTTP code the exception carries (400 parameter errors, 403 permission errors);
    /// `None` for a plain `die` (HTTP 500 over REST, no prefix on the CLI).
    pub code: Option<u16>,
    /// The message, without trailing newline.
    pub message: String,
    /// Per-parameter messages `(parameter, message)`, for 400 errors.
    pub params: Vec<(String, String)>,
    /// Set when no handler exists for `(method, path)`: pvesh prints its own text and exits 1;
    /// REST answers 501 `Method '<METHOD> <path>' not implemented`.
    pub no_handler: Option<(Method, String)>,
}

impl SimError {
    /// A plain `die "<message>\n"`.
    pub fn die(message: impl Into<String>) -> Self {
        Self { code: None, message: message.into(), params: Vec::new(), no_handler: None }
    }

    /// `400 Parameter verification failed.` with one `<param>: <message>` line.
    pub fn param(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: Some(400),
            message: "Parameter verification failed.".to_owned(),
            params: vec![(param.into(), message.into())],
            no_handler: None,
        }
    }

    /// `403 Permission check failed (<acl path>, <privilege>)` (pve-common `raise_perm_exc`).
    pub fn permission(acl_path: &str, privilege: &str) -> Self {
        Self {
            code: Some(403),
            message: format!("Permission check failed ({acl_path}, {privilege})"),
            params: Vec::new(),
            no_handler: None,
        }
    }

    /// No handler for `(method, path)`.
    pub fn no_handler(method: Method, path: &str) -> Self {
        Self {
            code: Some(501),
            message: format!("Method '{method} {path}' not implemented"),
            params: Vec::new(),
            no_handler: Some((method, path.to_owned())),
        }
    }

    /// `Configuration file 'nodes/<node>/qemu-server/<vmid>.conf' does not exist`
    /// (pve-guest-common `AbstractConfig.pm` `load_config`; lxc: `nodes/<node>/lxc/<vmid>.conf`).
    pub fn no_config(kind: GuestKind, node: &str, vmid: &str) -> Self {
        Self::die(format!("Configuration file '{}' does not exist", SimGuest::config_path(kind, node, vmid)))
    }

    /// `no such cluster node '<node>'` (pve-cluster `PVE/Cluster.pm` `check_node_exists`,
    /// the check the API proxy makes; pvesh on a real node may instead fail the hostname
    /// lookup of the unknown node).
    pub fn no_node(node: &str) -> Self {
        Self::die(format!("no such cluster node '{node}'"))
    }

    /// A proxied request to an offline node: `595 No route to host`.
    pub fn offline_node() -> Self {
        Self { code: Some(595), message: "No route to host".to_owned(), params: Vec::new(), no_handler: None }
    }

    /// What `pvesh`/`qm`/`pct` print on stderr, newline-terminated.
    pub fn cli_text(&self) -> String {
        if let Some((method, path)) = &self.no_handler {
            return format!("No '{}' handler defined for '{path}'\n", method.pvesh_verb());
        }
        let mut out = match self.code {
            Some(code) => format!("{code} {}\n", self.message),
            None => format!("{}\n", self.message),
        };
        for (k, v) in &self.params {
            out.push_str(k);
            out.push_str(": ");
            out.push_str(v);
            out.push('\n');
        }
        out
    }

    /// The exit code of the CLI tools: 1 for pvesh's "no handler", else 255 (Perl `die`).
    pub fn cli_exit(&self) -> i32 {
        if self.no_handler.is_some() { 1 } else { 255 }
    }

    /// The HTTP status a REST face answers with: the exception's code, else 500.
    pub fn http_status(&self) -> u16 {
        self.code.unwrap_or(500)
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_text().trim_end())
    }
}

impl std::error::Error for SimError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_texts_and_exit_codes() {
        let e = SimError::param("upid", "unable to parse worker upid");
        assert_eq!(e.cli_text(), "400 Parameter verification failed.\nupid: unable to parse worker upid\n");
        assert_eq!(e.cli_exit(), 255);
        let e = SimError::no_handler(Method::Get, "/nodes/pve1/foo");
        assert_eq!(e.cli_text(), "No 'get' handler defined for '/nodes/pve1/foo'\n");
        assert_eq!(e.cli_exit(), 1);
        assert_eq!(e.http_status(), 501);
        let e = SimError::no_config(GuestKind::Qemu, "pve1", "999");
        assert_eq!(e.cli_text(), "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist\n");
        assert_eq!(e.http_status(), 500);
        assert_eq!(SimError::permission("/vms/101", "VM.Audit").cli_text(), "403 Permission check failed (/vms/101, VM.Audit)\n");
    }
}
