//! The simulated cluster: one core answering `(method, path, params)` with PVE's
//! semantics over a serialisable state, and its faces: in process ([`SimTransport`]), and
//! the `pve-sim` executable posing as `pvesh`, `qm`, `pct` and `hostname` ([`cli`]), and
//! `pve-sim serve`, the REST API with API tokens and their privileges ([`serve`]).
//! Reads answer from the state; writes start worker tasks that take (wall-clock) time and
//! are finalised lazily by whichever call looks next (`worker.rs`), with injected faults.
//!
//! # Routes for backups, restore, clone, create, delete and config changes
//!
//! (`backups.rs`, `provision.rs`, `config.rs`; texts from Proxmox's sources, cited there.)
//! Direct errors are PVE `die`s: HTTP 500 with the text, CLI stderr + exit 255, no task.
//!
//! | route | params | answer |
//! | --- | --- | --- |
//! | `POST /nodes/{node}/vzdump` | `vmid` (comma list) or `all=1`, `storage` (default `local`), `mode` (default `snapshot`), `compress` (`0`/`gzip`/`lzo`/`zstd`, default `0`), `notes-template`, `protected`, `remove`, `node`, … (schema list) | UPID `vzdump:<vmid>` (one guest) or `vzdump:` (empty id, several/all); the string `OK` when no listed guest is on `{node}` |
//! | `GET /nodes/{node}/storage/{storage}/content` | `content`, `vmid` | `[{volid, content, format, size, ctime, vmid?, subtype?, notes?, protected?}]`; `vztmpl` items `{volid, content, format: "tzst", size, ctime}` |
//! | `GET /nodes/{node}/storage/{storage}/content/{volume}` | — | `{path, size, used, format, notes?, protected?}` |
//! | `PUT /nodes/{node}/storage/{storage}/content/{volume}` | `notes`, `protected` | `null`; a volume that is not a backup: direct `only backups support attribute '<attr>'` (not from PVE's source) |
//! | `DELETE /nodes/{node}/storage/{storage}/content/{volume}` | `delay` | UPID `imgdel:<vmid>@<storage>`; a protected backup fails IN the task: `cannot remove protected volume '<volname>' on '<storage>'`; task log `Removed volume '<volid>'` |
//! | `POST /nodes/{node}/qemu` with `archive=<volid>` | `vmid`, `storage`, `force`, `start`, `unique`, `pool`, … | UPID `qmrestore:<vmid>`; existing vmid without `force`: direct `unable to restore VM <id> - VM <id> already exists on node '<node>'` |
//! | `POST /nodes/{node}/lxc` with `ostemplate=<backup volid>`, `restore=1` | `vmid`, `storage`, `force`, `start`, `unique` | UPID `vzrestore:<vmid>`; direct `unable to restore CT <id> - CT <id> already exists on node '<node>'` |
//! | `POST /nodes/{node}/qemu` (create) | `vmid`, `name`, `memory`, `cores`, `sockets`, `scsi0`=`STORAGE:SIZE_GB`, `net0`, `ostype`, `ide2`, `cdrom`, `ciuser`, `cipassword`, `sshkeys`, `ipconfig0`, `start`, `pool`, `description`, `tags`, … | UPID `qmcreate:<vmid>`; existing: direct `unable to create VM <id> - VM <id> already exists on node '<node>'` |
//! | `POST /nodes/{node}/lxc` (create) | `vmid`, `ostemplate` (vztmpl volid), `hostname`, `storage`, `rootfs`, `memory`, `cores`, `swap`, `net0`, `ssh-public-keys`, `password` (never stored), `unprivileged`, `start`, `pool`, … | UPID `vzcreate:<vmid>` |
//! | `POST /nodes/{node}/qemu/{vmid}/clone` | `newid`, `name`, `full`, `target`, `storage`, `pool`, `description`, `snapname`, `format`, `bwlimit` | UPID `qmclone:<SOURCE vmid>`; new guest has `lock: clone` while it runs; direct errors: `VM is locked (<l>)`, `unable to create VM <newid>: config file already exists`, `Linked clone feature is not supported for '<volid>' (<key>)` (linked clone of a non-template), `parameter 'storage' not allowed for linked clones` |
//! | `POST /nodes/{node}/lxc/{vmid}/clone` | `newid`, `hostname`, `full`, `target`, `storage`, `pool`, `description`, `snapname`, `bwlimit` | UPID `vzclone:<SOURCE vmid>`; new CT has `lock: create`; `Linked clone feature for '<volid>' is not available` |
//! | `POST /nodes/{node}/qemu/{vmid}/template` | `disk` | UPID `qmtemplate:<vmid>`; running: direct `you can't convert a VM to template if VM is running` |
//! | `POST /nodes/{node}/lxc/{vmid}/template` | — | `null` (a `vztemplate` task still runs); running: `you can't convert a CT to template if the CT is running` |
//! | `DELETE /nodes/{node}/qemu/{vmid}` | `purge`, `destroy-unreferenced-disks`, `skiplock` | UPID `qmdestroy:<vmid>`; direct: `can't remove VM <id> - protection mode enabled`, `unable to remove VM <id> - used in HA resources and purge parameter not set.`, `VM <id> is running - destroy failed`, `VM is locked (<l>)` |
//! | `DELETE /nodes/{node}/lxc/{vmid}` | `purge`, `force`, `destroy-unreferenced-disks` | UPID `vzdestroy:<vmid>`; `can't remove CT <id> - protection mode enabled`, `unable to remove CT <id> - used in HA resources and purge parameter not set.`, `unable to destroy CT <id> - container is running` |
//! | `PUT /nodes/{node}/{qemu,lxc}/{vmid}/config` | config keys, `delete=k1,k2`, `digest`, `skiplock` (qemu), `revert` | `null`; stale digest: direct `detected modified configuration - file changed by other user? Try again.` |
//! | `POST /nodes/{node}/qemu/{vmid}/config` | as PUT | UPID `qmconfig:<vmid>` (change applied when the call returns) |
//! | `GET /nodes/{node}/{qemu,lxc}/{vmid}/pending` | — | `[{key, value?, pending?, delete?}]` (a `digest` item included) |
//! | `GET /cluster/nextid` | `vmid` | the id as a JSON string (`"105"`); taken: 400 `vmid: VM <id> already exists` |
//! | `GET /cluster/backup` | — | jobs with `id`, `type`, `schedule`, `enabled`, `next-run`, options |
//! | `GET /cluster/backup-info/not-backed-up` | — | `[{vmid, type, name?}]` |
//!
//! Also: vzdump `storage '<id>' does not exist`, `storage '<id>' does not support vzdump
//! backups`, per-guest `ERROR: Backup of VM <id> failed - VM is locked (<lock>)` (task
//! `job errors`, the other guests' archives kept); deleting a volume that does not exist is
//! PVE's `disk image '<path>' does not exist` + `Removed volume '<volid>'`, task OK; a volid
//! of another storage is 400 `volume: storage ID mismatch (<a> != <b>)`; a CT clone onto a
//! used id `unable to create CT <newid> - CT <newid> already exists on node '<node>'`. Not
//! taken from PVE (no source text found in time): a restore of a missing archive
//! `unable to restore VM <id> - volume '<volid>' does not exist` and a create from a missing
//! template `unable to create CT <id> - volume '<volid>' does not exist`, both direct.
//! Tools: `vzdump <vmid>... [OPTIONS]`, `qmrestore <archive> <vmid> [OPTIONS]`, `qm|pct
//! clone <vmid> <newid>`, `template <vmid>` (prints nothing, exit 0 even on failure), `qm
//! create <vmid>`, `pct create <vmid> <ostemplate>`, `pct restore <vmid> <archive>`,
//! `destroy <vmid>`, `set <vmid> --key value ... [--delete k]`, `pending <vmid>` (`cur k: v` /
//! `new k: v` / `del k: v`, sorted, no `digest`), `unlock <vmid>` (direct config edit).
//!
//! A volid in a path: everything after `/content/` is the volume (pve-storage registers
//! the content handler with `fragmentDelimiter => ''`), so `.../content/nas:backup/vzdump-…`
//! works as is; over REST `%3A`/`%2F` are decoded first, so the encoded form works too;
//! pvesh does not decode, so give it the raw volid. `backup/vzdump-…` (no storage prefix)
//! is taken as on `{storage}`.

mod access;
mod actions;
#[cfg(test)]
mod backend_tests;
mod backup_tools;
mod backups;
pub mod cli;
mod config;
mod core;
mod demo;
mod digest;
mod error;
mod faults;
mod foreground;
mod hang;
mod privileges;
mod provision;
#[cfg(test)]
mod provision_tests;
mod pvesh_face;
mod pvesh_format;
mod read_cluster;
mod read_guest;
mod read_task;
#[cfg(test)]
mod read_tests;
mod route;
mod seed;
mod seed_guest;
pub mod serve;
#[cfg(test)]
mod snapshot_tests;
mod snapshots;
mod state;
mod statefile;
mod task_state;
pub mod text;
mod tools;
mod transport;
mod worker;
#[cfg(test)]
mod write_tests;

pub use access::{AUTH_FAILED, Caller, Credentials, NO_TICKET, PVE_AUDITOR, SimAcl, SimToken, authenticate};
pub use core::Sim;
pub use demo::{DEMO_TOKENS, demo_state, generated_state};
pub use error::SimError;
pub use faults::{Denied, FaultOutcome, Faults, TaskFault, ToolHang};
pub use pvesh_face::Output;
pub use seed_guest::GuestSeed;
pub use state::{SimGuest, SimNode, SimPool, SimSnapshot, SimState, SimStorage, SimVolume, StorageUsage, VersionInfo};
pub use statefile::{SimEnv, append_log, save_state, with_state};
pub use task_state::{Effect, HaPending, NewBackup, Pending, PowerTo, Settings, SimTask};
pub use transport::{SimBackend, SimTransport, load_state};
