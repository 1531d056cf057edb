//! The REST backend: the PVE API over HTTPS with an API token (DESIGN.md §2).
//!
//! [`RestTransport`] is an [`crate::backend::ApiTransport`], so the typed layer
//! ([`crate::backend::ApiBackend`]) and every workflow are shared with `pvesh`.

mod client;
mod credentials;
mod error;
mod secret_command;
mod settings;
mod tls;

pub use client::{CONNECT_TIMEOUT, REQUEST_TIMEOUT, RestOptions, RestTransport};
pub use credentials::{
    CredentialFlags, CredentialSources, Credentials, Resolved, Secret, TokenId, check_private, read_credentials_file, read_secret_file,
    resolve,
};
pub use error::classify_http;
pub use settings::{ConfigFile, DEFAULT_PORT, Endpoint, SecretCommand, TargetEntry, config_path, credentials_path};
pub use tls::{Fingerprint, TlsTrust, client_config};
