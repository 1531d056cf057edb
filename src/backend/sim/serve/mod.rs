//! `pve-sim serve`: the simulator's REST face. HTTP(S) requests to `/api2/json/...` go to
//! the same core, under the same state-file lock, as the `pvesh`/`qm`/`pct` faces, with
//! pveproxy's envelope, errors, API-token authentication and privilege checks.

mod api;
mod request;
mod server;

pub use server::{SERVE_USAGE, ServeOptions, run_command, serve};
