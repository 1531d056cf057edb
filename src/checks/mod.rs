//! Health checks (DESIGN.md §1 `checks/`): typed [`Finding`]s with a [`Severity`], grouped in
//! check sets (`cluster`, `nodes`, `guests`, `storage`, `backups`, `tasks`, and `check_pve`'s
//! other modes `certs`, `services`, `updates`, `disks`, `replication`, `zfs`, `ceph`,
//! `snapshots`; `all`), measured against [`Thresholds`]. Reads only, no printing: the CLI turns a [`Report`] into a Nagios
//! plugin line, JSON or a table, and `check --watch` diffs reports with [`changes`].

mod backup_runs;
mod finding;
mod join;
mod node_health;
mod nodes;
mod pools;
mod privileges;
mod sets;
mod snapshots;
mod thresholds;
mod watch;

pub use finding::{Finding, Perf, Report, Severity};
pub use privileges::{GroupAccess, diagnose, sees_nothing};
pub use sets::{CheckSet, run};
pub use thresholds::{Limit, Thresholds};
pub use watch::{Change, changes};
