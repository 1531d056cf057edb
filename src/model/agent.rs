//! QEMU guest agent answers and container interfaces.
//!
//! `GET /nodes/{node}/qemu/{vmid}/agent/{cmd}` answers `{"result": <QGA result>}`;
//! `qm guest cmd` prints only the `result`, as canonical pretty JSON (OPERATIONS.md fact 19).
//! [`agent_result`] takes either. QGA data keeps QGA's `true`/`false` and hyphenated keys.
//!
//! Failures (fact 20, qemu-server `src/PVE/QemuServer/Agent.pm:110-112`): `No QEMU guest agent
//! configured`, `VM <vmid> is not running`, `QEMU guest agent is not running` (HTTP 500 on the
//! API, the body's `message` keeps the `\n` on PVE ≥ 8.4), a QMP timeout
//! `VM <vmid> qga command '<cmd>' failed - got timeout`, and a command the agent does not
//! support, which older PVE (6.x) answered with HTTP 200 and `{"result": {"error": {"class":
//! "Unsupported", "desc": …}}}` and newer PVE dies on as `Agent error: <desc>`.
//!
//! `exec-status` (`src/PVE/QemuServer/Agent.pm:153-181`): `out-data`/`err-data` are already
//! base64-decoded by PVE, and QGA booleans turned into `0`/`1`.
//!
//! Containers: `GET /nodes/{node}/lxc/{vmid}/interfaces` (pve-container `PVE::LXC::get_interfaces`)
//! runs `ip --json a` in the container's namespace: `name`, `hwaddr` (and `hardware-address`),
//! `inet`/`inet6` as `addr/prefix` (only the last address of each family), and `ip-addresses`
//! whose `ip-address-type` is `ip`'s family name, `inet`/`inet6`, not QGA's `ipv4`/`ipv6`.
//! A stopped container answers `null`.

use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::loose;

/// Address family of an interface address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum IpFamily {
    /// `ipv4` (QGA) or `inet` (a container's `ip --json`).
    #[serde(rename = "ipv4", alias = "inet")]
    Ipv4,
    /// `ipv6` (QGA) or `inet6`.
    #[serde(rename = "ipv6", alias = "inet6")]
    Ipv6,
    /// Anything else.
    #[serde(rename = "unknown", other)]
    Unknown,
}

/// One address of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IpAddress {
    /// The address, without prefix (an IPv6 address may carry a `%zone`).
    #[serde(rename = "ip-address", default)]
    pub ip_address: String,
    /// Its family.
    #[serde(rename = "ip-address-type", default = "unknown_family")]
    pub ip_address_type: IpFamily,
    /// Prefix length, bits.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_u8")]
    pub prefix: Option<u8>,
}

fn unknown_family() -> IpFamily {
    IpFamily::Unknown
}

fn opt_u8<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(loose::value_u64).and_then(|n| u8::try_from(n).ok()))
}

fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(|v| match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }))
}

impl IpAddress {
    /// The address parsed (a `%zone` suffix ignored); `None` when it is not an address (an
    /// author's redaction, for instance).
    pub fn addr(&self) -> Option<IpAddr> {
        self.ip_address.split('%').next().unwrap_or_default().parse().ok()
    }

    /// `127.0.0.0/8` or `::1`.
    pub fn is_loopback(&self) -> bool {
        self.addr().is_some_and(|a| a.is_loopback())
    }

    /// `169.254.0.0/16` or `fe80::/10`.
    pub fn is_link_local(&self) -> bool {
        match self.addr() {
            Some(IpAddr::V4(a)) => a.is_link_local(),
            Some(IpAddr::V6(a)) => (a.segments()[0] & 0xffc0) == 0xfe80,
            None => false,
        }
    }
}

/// Counters of a guest interface (`guest-network-get-interfaces` `statistics`), bytes and packets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InterfaceStatistics {
    /// Bytes received.
    #[serde(rename = "rx-bytes", default, deserialize_with = "loose::opt_u64", skip_serializing_if = "Option::is_none")]
    pub rx_bytes: Option<u64>,
    /// Bytes sent.
    #[serde(rename = "tx-bytes", default, deserialize_with = "loose::opt_u64", skip_serializing_if = "Option::is_none")]
    pub tx_bytes: Option<u64>,
    /// Packets received.
    #[serde(rename = "rx-packets", default, deserialize_with = "loose::opt_u64", skip_serializing_if = "Option::is_none")]
    pub rx_packets: Option<u64>,
    /// Packets sent.
    #[serde(rename = "tx-packets", default, deserialize_with = "loose::opt_u64", skip_serializing_if = "Option::is_none")]
    pub tx_packets: Option<u64>,
    /// Receive errors.
    #[serde(rename = "rx-errs", default, deserialize_with = "loose::opt_u64", skip_serializing_if = "Option::is_none")]
    pub rx_errs: Option<u64>,
    /// Send errors.
    #[serde(rename = "tx-errs", default, deserialize_with = "loose::opt_u64", skip_serializing_if = "Option::is_none")]
    pub tx_errs: Option<u64>,
    /// Received packets dropped.
    #[serde(rename = "rx-dropped", default, deserialize_with = "loose::opt_u64", skip_serializing_if = "Option::is_none")]
    pub rx_dropped: Option<u64>,
    /// Sent packets dropped.
    #[serde(rename = "tx-dropped", default, deserialize_with = "loose::opt_u64", skip_serializing_if = "Option::is_none")]
    pub tx_dropped: Option<u64>,
}

/// One interface of a guest, from the agent's `network-get-interfaces` (or converted from a
/// container's interfaces, [`LxcInterface::to_network_interface`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NetworkInterface {
    /// Interface name in the guest (`ens18`, `lo`, `Ethernet 2`).
    pub name: String,
    /// MAC address (`00:00:00:00:00:00` for loopback and tunnels); absent on some agents.
    #[serde(rename = "hardware-address", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub hardware_address: Option<String>,
    /// Addresses in the agent's order.
    #[serde(rename = "ip-addresses", default)]
    pub ip_addresses: Vec<IpAddress>,
    /// Counters (QGA ≥ 2.11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<InterfaceStatistics>,
    /// Keys not interpreted above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl NetworkInterface {
    /// Whether every address is a loopback address (or the name is `lo` with no address).
    pub fn is_loopback(&self) -> bool {
        if self.ip_addresses.is_empty() { self.name == "lo" } else { self.ip_addresses.iter().all(IpAddress::is_loopback) }
    }

    /// The addresses worth showing: not loopback, not link-local.
    pub fn routable(&self) -> impl Iterator<Item = &IpAddress> {
        self.ip_addresses.iter().filter(|a| !a.is_loopback() && !a.is_link_local())
    }
}

/// `get-osinfo` (QGA ≥ 2.10). All keys optional; Windows reports `kernel-release` as the
/// build number (`26100`) and `variant`/`variant-id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OsInfo {
    /// `mswindows`, `debian`, `ubuntu`, `freebsd`, ...
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub id: Option<String>,
    /// `Microsoft Windows`, `Debian GNU/Linux`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub name: Option<String>,
    /// Display name (`Windows Server 2025 Datacenter Evaluation`).
    #[serde(rename = "pretty-name", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub pretty_name: Option<String>,
    /// Version text.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub version: Option<String>,
    /// Version id (`2025`, `12`).
    #[serde(rename = "version-id", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub version_id: Option<String>,
    /// Kernel release (Linux `6.1.0-18-amd64`; Windows: the build number).
    #[serde(rename = "kernel-release", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub kernel_release: Option<String>,
    /// Kernel version (Windows `10.0`).
    #[serde(rename = "kernel-version", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub kernel_version: Option<String>,
    /// `x86_64`, ...
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub machine: Option<String>,
    /// Edition (`server`, `client`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub variant: Option<String>,
    /// Edition id.
    #[serde(rename = "variant-id", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub variant_id: Option<String>,
    /// Keys not interpreted above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl OsInfo {
    /// Whether the guest runs Windows.
    pub fn is_windows(&self) -> bool {
        self.id.as_deref() == Some("mswindows")
    }

    /// The Windows build number (`kernel-release` of a Windows guest).
    pub fn windows_build(&self) -> Option<u32> {
        self.is_windows().then(|| self.kernel_release.as_deref()?.parse().ok()).flatten()
    }
}

/// `exec-status` of a command started with `exec` (also what `qm guest exec` prints).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgentExecStatus {
    /// The process has ended.
    #[serde(default, deserialize_with = "loose::bool01")]
    pub exited: bool,
    /// Exit code, when it ended normally.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_i64")]
    pub exitcode: Option<i64>,
    /// The signal that ended it.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_i64")]
    pub signal: Option<i64>,
    /// Its stdout, already decoded by PVE (do not base64-decode again).
    #[serde(rename = "out-data", default, skip_serializing_if = "Option::is_none")]
    pub out_data: Option<String>,
    /// Its stderr, already decoded by PVE.
    #[serde(rename = "err-data", default, skip_serializing_if = "Option::is_none")]
    pub err_data: Option<String>,
    /// The agent cut stdout (absent on some versions).
    #[serde(rename = "out-truncated", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_bool")]
    pub out_truncated: Option<bool>,
    /// The agent cut stderr.
    #[serde(rename = "err-truncated", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_bool")]
    pub err_truncated: Option<bool>,
    /// Keys not interpreted above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AgentExecStatus {
    /// Ended with exit code 0.
    pub fn success(&self) -> bool {
        self.exited && self.exitcode == Some(0) && self.signal.is_none()
    }
}

/// What kind of agent failure PVE reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentErrorKind {
    /// `No QEMU guest agent configured`: `agent` is not enabled in the VM config.
    NotConfigured,
    /// `VM <vmid> is not running`.
    GuestStopped,
    /// `QEMU guest agent is not running`: the agent in the guest does not answer.
    NotRunning,
    /// `VM <vmid> qga command '<cmd>' failed - got timeout`.
    Timeout,
    /// The agent does not know or allow the command (`Unsupported`, `CommandNotFound`,
    /// `CommandDisabled`).
    Unsupported,
    /// Any other agent error.
    Other,
}

/// An agent failure: its kind and PVE's (or QGA's) text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct AgentError {
    /// The kind.
    pub kind: AgentErrorKind,
    /// The text, without its trailing newline.
    pub message: String,
}

impl AgentError {
    /// Classifies an error text of PVE (an HTTP reason phrase or `message`, a CLI error line).
    pub fn classify(message: &str) -> Self {
        let m = message.trim();
        let kind = if m.contains("No QEMU guest agent configured") {
            AgentErrorKind::NotConfigured
        } else if m.contains("QEMU guest agent is not running") || m.contains("QEMU Guest Agent is not running") {
            AgentErrorKind::NotRunning
        } else if m.contains("qga command") && m.ends_with("got timeout") {
            AgentErrorKind::Timeout
        } else if m.ends_with(" is not running") && m.contains("VM ") {
            AgentErrorKind::GuestStopped
        } else if m.contains("not currently supported") || m.contains("has been disabled") || m.contains("command not found") {
            AgentErrorKind::Unsupported
        } else {
            AgentErrorKind::Other
        };
        Self { kind, message: m.to_owned() }
    }

    /// The QGA error object `{"error": {"class", "desc"}}` a result may be, if it is one.
    pub fn from_result(result: &Value) -> Option<Self> {
        let e = result.get("error")?.as_object()?;
        let class = e.get("class").and_then(Value::as_str).unwrap_or_default();
        let desc = e.get("desc").and_then(Value::as_str).unwrap_or(class);
        let kind = match class {
            "Unsupported" | "CommandNotFound" | "CommandDisabled" => AgentErrorKind::Unsupported,
            _ => AgentErrorKind::Other,
        };
        Some(Self { kind, message: desc.to_owned() })
    }
}

/// The QGA result of an agent answer: the `result` member of the API's `{"result": …}`, or
/// the value itself (what `qm guest cmd` prints); a QGA error object becomes an [`AgentError`].
pub fn agent_result(answer: Value) -> Result<Value, AgentError> {
    let result = match answer {
        Value::Object(mut o) if o.len() == 1 && o.contains_key("result") => o.remove("result").unwrap_or_default(),
        other => other,
    };
    match AgentError::from_result(&result) {
        Some(e) if result.as_object().is_some_and(|o| o.len() == 1) => Err(e),
        _ => Ok(result),
    }
}

/// The interfaces of a `network-get-interfaces` answer (either form, see [`agent_result`]).
pub fn network_interfaces(answer: Value) -> Result<Vec<NetworkInterface>, AgentError> {
    let result = agent_result(answer)?;
    serde_json::from_value(result)
        .map_err(|e| AgentError { kind: AgentErrorKind::Other, message: format!("unexpected network-get-interfaces result: {e}") })
}

/// One interface of `GET /nodes/{node}/lxc/{vmid}/interfaces`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LxcInterface {
    /// Interface name in the container (`lo`, `eth0`).
    pub name: String,
    /// MAC address (deprecated by PVE for `hardware-address`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub hwaddr: Option<String>,
    /// MAC address (newer PVE).
    #[serde(rename = "hardware-address", default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub hardware_address: Option<String>,
    /// The last IPv4 address as `addr/prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub inet: Option<String>,
    /// The last IPv6 address as `addr/prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "loose::opt_string")]
    pub inet6: Option<String>,
    /// Every address (newer PVE; `ip-address-type` is `inet`/`inet6`).
    #[serde(rename = "ip-addresses", default, skip_serializing_if = "Option::is_none")]
    pub ip_addresses: Option<Vec<IpAddress>>,
    /// Keys not interpreted above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl LxcInterface {
    /// The same interface in the agent's shape: `ip-addresses` when PVE sent them, else
    /// built from `inet`/`inet6`.
    pub fn to_network_interface(&self) -> NetworkInterface {
        let ip_addresses = self.ip_addresses.clone().unwrap_or_else(|| {
            [(&self.inet, IpFamily::Ipv4), (&self.inet6, IpFamily::Ipv6)]
                .into_iter()
                .filter_map(|(a, family)| {
                    let a = a.as_deref()?;
                    let (ip, prefix) = a.split_once('/').map_or((a, None), |(ip, p)| (ip, p.parse().ok()));
                    Some(IpAddress { ip_address: ip.to_owned(), ip_address_type: family, prefix })
                })
                .collect()
        });
        NetworkInterface {
            name: self.name.clone(),
            hardware_address: self.hardware_address.clone().or_else(|| self.hwaddr.clone()),
            ip_addresses,
            statistics: None,
            extra: Map::new(),
        }
    }
}

/// The interfaces of a container answer; `null` (a stopped container) gives none.
pub fn lxc_interfaces(answer: Value) -> Result<Vec<LxcInterface>, serde_json::Error> {
    if answer.is_null() { Ok(Vec::new()) } else { serde_json::from_value(answer) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_are_classified() {
        let k = |m: &str| AgentError::classify(m).kind;
        assert_eq!(k("QEMU guest agent is not running\n"), AgentErrorKind::NotRunning);
        assert_eq!(k("No QEMU guest agent configured"), AgentErrorKind::NotConfigured);
        assert_eq!(k("VM 100 is not running"), AgentErrorKind::GuestStopped);
        assert_eq!(k("VM 100 qga command 'guest-ping' failed - got timeout"), AgentErrorKind::Timeout);
        assert_eq!(k("Agent error: this feature or command is not currently supported"), AgentErrorKind::Unsupported);
        assert_eq!(k("something else"), AgentErrorKind::Other);
    }

    #[test]
    fn container_interfaces_old_and_new() {
        let old = lxc_interfaces(json!([{"name": "eth0", "hwaddr": "bc:24:11:00:00:01", "inet": "10.0.0.5/24", "inet6": "fe80::1/64"}]))
            .expect("old form");
        let n = old[0].to_network_interface();
        assert_eq!(n.hardware_address.as_deref(), Some("bc:24:11:00:00:01"));
        assert_eq!(
            n.ip_addresses.iter().map(|a| (a.ip_address.as_str(), a.ip_address_type, a.prefix)).collect::<Vec<_>>(),
            [("10.0.0.5", IpFamily::Ipv4, Some(24)), ("fe80::1", IpFamily::Ipv6, Some(64))]
        );
        assert!(n.ip_addresses[1].is_link_local());
        let new = lxc_interfaces(json!([{"name": "lo", "hwaddr": "00:00:00:00:00:00", "hardware-address": "00:00:00:00:00:00",
            "inet": "127.0.0.1/8", "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "inet", "prefix": 8}]}]))
        .expect("new form");
        assert!(new[0].to_network_interface().is_loopback());
        assert!(lxc_interfaces(Value::Null).expect("stopped").is_empty());
    }
}
