//! TLS for `pve-sim serve --tls`: a self-signed certificate made at start (names
//! `127.0.0.1` and `localhost`, a fresh key each run, nothing written to disk) and its
//! SHA-256 fingerprint in the form the PVE GUI shows and clients pin (`AA:BB:…`, 32
//! upper-case hex pairs).

use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{ServerConfig, crypto::ring};

/// A server certificate with its acceptor.
pub(crate) struct SelfSigned {
    /// Accepts TLS connections with the certificate (TLS 1.2 and 1.3, HTTP/1.1 by ALPN).
    pub acceptor: TlsAcceptor,
    /// SHA-256 of the certificate's DER, `AA:BB:…` (95 characters).
    pub fingerprint: String,
}

impl SelfSigned {
    /// Makes a certificate for `127.0.0.1` and `localhost` and a rustls server config (ring).
    ///
    /// # Errors
    /// A message when the key or the certificate cannot be made.
    pub(crate) fn generate() -> Result<Self, String> {
        let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let certified = rcgen::generate_simple_self_signed(names).map_err(|e| format!("cannot make a certificate: {e}"))?;
        let cert = certified.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot configure TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .map_err(|e| format!("cannot use the certificate: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { acceptor: TlsAcceptor::from(Arc::new(config)), fingerprint: fingerprint(&cert) })
    }
}

/// The SHA-256 fingerprint of a DER certificate as `AA:BB:…`.
pub(crate) fn fingerprint(der: &[u8]) -> String {
    let digest = ::ring::digest::digest(&::ring::digest::SHA256, der);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_look_like_the_gui() {
        assert_eq!(fingerprint(b"").len(), 95);
        assert!(fingerprint(b"").starts_with("E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24"), "SHA-256 of nothing");
        let a = SelfSigned::generate().expect("generates");
        let b = SelfSigned::generate().expect("generates");
        assert_ne!(a.fingerprint, b.fingerprint, "a fresh key each start");
    }
}
