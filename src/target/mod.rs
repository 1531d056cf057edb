//! Targets as library code (DESIGN.md §2): where pvectl acts, built from flags, the
//! environment and the config file into a [`TargetSpec`], and opened into a backend. The CLI,
//! the MCP server and the dashboard share it.

mod open;
mod select;
mod spec;

pub use open::open;
pub use select::{Fleet, fleet, select};
pub use spec::{Flags, Target, TargetSpec};
