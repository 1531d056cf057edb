//! TLS for the REST backend: which server certificates are trusted.
//!
//! - [`TlsTrust::System`] (default): the system's CA roots (`rustls-native-certs`), with the
//!   host name checked, as any HTTPS client.
//! - [`TlsTrust::CaFile`]: the CA certificates of a PEM file *instead of* the system roots, e.g.
//!   a cluster's `/etc/pve/pve-root-ca.pem`. Narrower than adding to the system roots.
//! - [`TlsTrust::Pinned`]: exactly one leaf certificate, by the SHA-256 fingerprint the PVE GUI
//!   shows (Node -> System -> Certificates). Name and dates are not checked (a self-signed
//!   node certificate rarely names the address used), but the handshake signature is still
//!   verified with the provider's algorithms, so the peer must hold that certificate's key.
//! - [`TlsTrust::Insecure`]: any certificate (`--insecure`); the CLI warns on every run.
//!
//! The crypto provider is `ring` (also used for the fingerprint digest): it builds in seconds,
//! where aws-lc-rs needs cmake and a large C build. The token travels only inside the
//! established TLS session, so a failed verification ends the connection before any request
//! (and its `Authorization` header) is written.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

/// A SHA-256 certificate fingerprint. Parses `AA:BB:...` (32 colon-separated hex bytes, any
/// case, as the PVE GUI and `openssl x509 -fingerprint -sha256` print it) or 64 hex digits;
/// displays as upper-case colon-separated hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The SHA-256 of a DER certificate.
    pub fn of_der(der: &[u8]) -> Self {
        let d = ring::digest::digest(&ring::digest::SHA256, der);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }
}

impl FromStr for Fingerprint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad =
            || Error::Usage(format!("invalid SHA-256 fingerprint '{s}': expected 32 hex bytes as AA:BB:CC:... (as the PVE GUI shows it)"));
        let t = s.trim();
        let t = t.strip_prefix("sha256 Fingerprint=").or_else(|| t.strip_prefix("SHA256 Fingerprint=")).unwrap_or(t);
        let hex: Vec<u8> = if t.contains(':') {
            let parts: Vec<&str> = t.split(':').collect();
            if parts.len() != 32 || parts.iter().any(|p| p.len() != 2) {
                return Err(bad());
            }
            parts.concat().into_bytes()
        } else {
            t.as_bytes().to_vec()
        };
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            let digits = std::str::from_utf8(pair).map_err(|_| bad())?;
            out[i] = u8::from_str_radix(digits, 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Which server certificates to accept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsTrust {
    /// The system CA roots, host name checked.
    #[default]
    System,
    /// The CA certificates of this PEM file instead of the system roots, host name checked.
    CaFile(PathBuf),
    /// Exactly the leaf certificate with this SHA-256 fingerprint.
    Pinned(Fingerprint),
    /// Anything (`--insecure`).
    Insecure,
}

impl fmt::Display for TlsTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("system CA roots"),
            Self::CaFile(p) => write!(f, "CA file {}", p.display()),
            Self::Pinned(fp) => write!(f, "pinned certificate {fp}"),
            Self::Insecure => f.write_str("no verification (--insecure)"),
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls client configuration for `trust` (HTTP/1.1 offered by ALPN: pveproxy
/// speaks nothing else).
///
/// # Errors
/// `Usage` when the CA file cannot be read or holds no certificate; `Transport` when no
/// system root can be loaded.
pub fn client_config(trust: &TlsTrust) -> Result<ClientConfig> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS provider has no protocol version: {e}")))?;
    let mut cfg = match trust {
        TlsTrust::System => {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(Error::Transport {
                    message: "no system CA certificate could be loaded (install ca-certificates, or use --ca-file or --fingerprint)".into(),
                    source: found.errors.into_iter().next().map(|e| Box::new(e) as crate::error::BoxError),
                });
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        TlsTrust::CaFile(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<std::result::Result<Vec<_>, _>>)
                .map_err(|e| Error::Usage(format!("cannot read CA file {}: {e}", path.display())))?;
            let mut roots = RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Error::Usage(format!("CA file {} holds no usable PEM certificate", path.display())));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        TlsTrust::Pinned(fp) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier { pin: Some(*fp), algs: provider.signature_verification_algorithms }))
            .with_no_client_auth(),
        TlsTrust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier { pin: None, algs: provider.signature_verification_algorithms }))
            .with_no_client_auth(),
    };
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// The server presented another certificate than the pinned one. `Debug` is the sentence
/// too: rustls shows its cause with `Debug`.
struct PinMismatch {
    expected: Fingerprint,
    got: Fingerprint,
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server certificate SHA-256 {} does not match the pinned {}", self.got, self.expected)
    }
}

impl fmt::Debug for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for PinMismatch {}

/// Pinned (`pin: Some`) or insecure (`pin: None`) verification; both verify the handshake
/// signature.
#[derive(Debug)]
struct Verifier {
    pin: Option<Fingerprint>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self.pin {
            None => Ok(ServerCertVerified::assertion()),
            Some(expected) => {
                let got = Fingerprint::of_der(end_entity.as_ref());
                if got == expected {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(Arc::new(PinMismatch {
                        expected,
                        got,
                    })))))
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUI: &str = "4E:5A:0B:7C:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:01:02:03:04:05:06:07:08:09:0A:0B:0C";

    #[test]
    fn fingerprint_parses_gui_form_any_case() {
        let a: Fingerprint = GUI.parse().expect("upper");
        let b: Fingerprint = GUI.to_lowercase().parse().expect("lower");
        let c: Fingerprint = GUI.replace(':', "").parse().expect("bare hex");
        let d: Fingerprint = format!("sha256 Fingerprint={GUI}").parse().expect("openssl output");
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert_eq!(a.to_string(), GUI);
    }

    #[test]
    fn fingerprint_refuses_malformed() {
        for bad in ["", "AA:BB", &GUI[3..], &format!("{GUI}:00"), &GUI.replace("4E", "4G"), &GUI.replace(":0C", "0C"), "A:B"] {
            assert!(matches!(bad.parse::<Fingerprint>(), Err(Error::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn fingerprint_of_der_is_sha256() {
        // SHA-256 of the empty string.
        assert_eq!(
            Fingerprint::of_der(b"").to_string().replace(':', "").to_lowercase(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn configs_build() {
        for t in [TlsTrust::Pinned(GUI.parse().expect("fp")), TlsTrust::Insecure] {
            let c = client_config(&t).expect("config");
            assert_eq!(c.alpn_protocols, vec![b"http/1.1".to_vec()]);
        }
        let missing = client_config(&TlsTrust::CaFile("/nonexistent/ca.pem".into())).expect_err("missing file");
        assert!(matches!(missing, Error::Usage(_)));
    }
}
