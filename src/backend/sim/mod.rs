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
//!
//! # Routes for migration, disks, the guest agent, container exec, pools and HA
//!
//! (`migrate.rs`, `disks.rs`, `agent.rs`, `lxc_exec.rs`, `pools.rs`, `ha.rs`; texts from
//! qemu-server e6352be, pve-container 94f5585, pve-guest-common 4a8f6cb, pve-ha-manager
//! b71218f, cited there.) Timestamps in migration logs are the task's start, UTC.
//!
//! | route | params | answer |
//! | --- | --- | --- |
//! | `GET /nodes/{node}/qemu/{vmid}/migrate` | `target` | `{running, allowed_nodes, not_allowed_nodes: {<node>: {unavailable_storages}}, local_disks: [{volid, size, drivename, cdrom, is_unused, is_attached, is_cloudinit, is_vmstate, is_tpmstate, replicate, shared: 0, referenced_in_snapshot?}], local_resources: [], mapped-resources: [], mapped-resource-info: {}, has-dbus-vmstate: 1, dependent-ha-resources?: []}` (a node lacking a storage the VM uses is not allowed; a volume on a non-shared storage is a local disk) |
//! | `POST /nodes/{node}/qemu/{vmid}/migrate` | `target`, `online`, `with-local-disks`, `targetstorage`, `force`, `bwlimit`, `migration_network`, `migration_type`, `with-conntrack-state` | UPID `qmigrate:<vmid>` (HA-managed: `hamigrate:<vmid>`, log `Requesting HA migration for VM <id> to node <target>`); direct: 400 `target: target is local node.`, `no such cluster node '<n>'`, `VM is locked (<l>)`, `can't migrate running VM without --online`, `storage '<s>' is not available on node '<n>'`; in the task (`migration aborted`, guest stays): local disks of a running VM without `with-local-disks`, a local cdrom image, an offline target |
//! | `POST /nodes/{node}/lxc/{vmid}/migrate` | `target`, `restart`, `online`, `timeout`, `target-storage`, `bwlimit` | UPID `vzmigrate:<vmid>` (HA: `hamigrate`); running without `restart`/`online`: direct `can't migrate running container without --online or --restart` |
//! | `POST /cluster/ha/resources/{sid}/migrate` | `node` | `{sid, requested-node}`; the HA manager migrates after `ha_delay_ms` with a `qmigrate`/`vzmigrate` task whose log starts `task started by HA resource agent`; `resource '<sid>' is not HA managed` |
//! | `GET /cluster/ha/resources` | `type` (`vm`/`ct`) | `[{sid: "vm:100", type: "vm", state, max_restart: 1, max_relocate: 1, digest}]` |
//! | `GET /cluster/ha/status/current` | — | pve-ha-manager 5.2 (PVE 9.2): `quorum`, `master`, `fencing` (`armed (CRM watchdog active)`), `lrm:<node>` per node (`<node> (active, watchdog active, <localtime>)` / `(idle, watchdog standby, …)`), `service:<sid>` entries (`node`, `crm_state`, `state`, `request_state`, `status`, `max_restart`, `max_relocate`) |
//! | `PUT /nodes/{node}/qemu/{vmid}/resize` | `disk`, `size` (`[+]N[KMGT]`), `skiplock`, `digest` | UPID `resize:<vmid>`; in the task: `shrinking disks is not supported`, `disk '<d>' does not exist`, `you can't resize a cdrom`; same size: no-op; the drive's `size=` changes; a `size` not matching PVE's regex: 400 `size: value does not match the regex pattern` |
//! | `PUT /nodes/{node}/lxc/{vmid}/resize` | `disk` (`rootfs`, `mpN`), `size`, `digest` | UPID `resize:<vmid>`; in the task: `unable to shrink disk size`, `disk is already at specified size` |
//! | `POST /nodes/{node}/qemu/{vmid}/move_disk` | `disk`, `storage`, `delete`, `format`, `bwlimit`, `digest` | UPID `qmmove:<vmid>`; log `create full clone of drive <d> (<volid>)`, running: `mirror-<d>: transferred …`, `all 'mirror' jobs are ready`, `mirror-<d>: Completing block job...`, `mirror-<d>: Completed successfully.`, `mirror-<d>: mirror-job finished`; the drive moves to `<storage>:<vmid>/vm-<vmid>-disk-N.<fmt>`; without `delete` the old volume becomes `unusedN` |
//! | `POST /nodes/{node}/lxc/{vmid}/move_volume` | `volume`, `storage`, `delete`, `bwlimit`, `digest` | UPID `move_volume:<vmid>`; running: direct `cannot move volumes of a running container` |
//! | `GET /nodes/{node}/qemu/{vmid}/agent/{network-get-interfaces,get-osinfo,info,get-fsinfo,get-time,get-users,get-host-name}`, `POST …/agent/ping`, `POST …/agent` (`command`) | — | `{"result": …}`; errors (HTTP 500): `No QEMU guest agent configured`, `VM <id> is not running`, `QEMU guest agent is not running` |
//! | `POST /nodes/{node}/qemu/{vmid}/agent/exec` | `command` (repeated: one entry per argv item), `input-data` | `{"pid": N}` |
//! | `GET /nodes/{node}/qemu/{vmid}/agent/exec-status` | `pid` | `{exited: 0}` or `{exited: 1, exitcode, out-data?, err-data?}` (decoded text) |
//! | `GET /nodes/{node}/qemu/{vmid}/agent/file-read` | `file`, `count`, `decode` | `{content, bytes-read, truncated?}` |
//! | `POST /nodes/{node}/qemu/{vmid}/agent/file-write` | `file`, `content`, `encode` | `null` |
//! | `GET /nodes/{node}/lxc/{vmid}/interfaces` | — | `[{name, hwaddr, hardware-address, inet?, inet6?, ip-addresses: [{ip-address, ip-address-type: inet/inet6, prefix}]}]`; stopped: `null` |
//! | `GET /pools` | `poolid`, `type` | `[{poolid, comment?}]`; with `poolid` a one-element array with `members` (guests as in `/cluster/resources`, then `storage/<node>/<id>` entries) |
//! | `GET /pools/{poolid}` | `type` | `{comment?, members}` (legacy) |
//! | `GET /nodes/{node}/storage/{storage}/content` | `content` (`iso`, `vztmpl`, `backup`, `images`, `rootdir`), `vmid` | also `iso` files and guests' disk volumes `{volid, content, format, size, ctime, vmid}` |
//!
//! Tools: `qm migrate <vmid> <target> [--online] [--with-local-disks] [--targetstorage s]`,
//! `pct migrate <vmid> <target> [--restart]` (task log on stdout, exit 255 on failure);
//! `qm disk resize|resize <vmid> <disk> <size>` and `pct resize <vmid> <disk> <size>` (print
//! the storage's output only, exit 0 even on failure); `qm disk move|move-disk|move_disk
//! <vmid> <disk> <storage> [--delete]`, `pct move-volume <vmid> <volume> <storage>`; `qm guest
//! cmd <vmid> <command>` (the `result` as canonical pretty JSON, 3-space indent), `qm guest
//! exec <vmid> [--timeout N] [--synchronous 0] -- <args...>` (exec-status JSON), `qm guest
//! exec-status <vmid> <pid>`; `pct exec <vmid> -- <cmd...>` (the command's output and exit
//! code), `pct push <vmid> <file> <dst>`, `pct pull <vmid> <src> <dst>` (silent, exit 0 even
//! on failure; local files of the machine running pve-sim); `ha-manager status`,
//! `ha-manager migrate <sid> <node>` (`crm-command migrate`).
//!
//! Guest exec runs a tiny deterministic shell: `echo ARGS...`, `true`, `false`, `hostname`,
//! `sleep N`, `sh -c 'echo a; exit 3'` (`;`-separated `echo WORDS` / `exit N`), anything
//! else exits 127 with `sh: 1: <prog>: not found`. Every argv (qemu agent exec and pct exec)
//! is appended to the state's `agent_exec_log` as `{vmid, argv: [...]}`.
//! Faults: `faults.agent_down: [vmid]` (agent configured but not running), task fault action
//! `migrate` with message `migration aborted` (or any reason: the guest stays) or
//! `migration problems` (the guest moves, the task fails), `faults.agent_exec_hang: [vmid]`
//! (exec never exits).

//!
//! # Routes for node health
//!
//! `GET /nodes/{node}/certificates/info`, `…/services`, `…/apt/update`, `…/disks/list`,
//! `…/disks/zfs`, `…/replication`, `GET /cluster/ceph/status` and `/nodes/{node}/ceph/status`
//! answer from the state's `health` (`node_health.rs`, sources and shapes cited there).

mod access;
mod actions;
mod agent;
#[cfg(test)]
mod backend_tests;
mod backup_tools;
mod backups;
pub mod cli;
mod config;
mod core;
mod demo;
mod digest;
mod disks;
mod error;
mod faults;
mod foreground;
mod guest_exec;
mod ha;
mod hang;
mod lxc_exec;
mod migrate;
mod node_health;
#[cfg(test)]
mod ops_tests;
mod pools;
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
mod tools_ops;
mod transport;
mod worker;
#[cfg(test)]
mod write_tests;

pub use access::{AUTH_FAILED, Caller, Credentials, NO_TICKET, PVE_AUDITOR, SimAcl, SimToken, authenticate};
pub use core::Sim;
pub use demo::{DEMO_TOKENS, demo_state, generated_state};
pub use error::SimError;
pub use faults::{Denied, FaultOutcome, Faults, TaskFault, ToolHang};
pub use guest_exec::{AgentExec, ExecRecord, GuestFile};
pub use node_health::{
    SimCeph, SimCephCheck, SimCertificate, SimDisk, SimHealth, SimNodeHealth, SimReplication, SimService, SimUpdate, SimZpool,
};
pub use pvesh_face::Output;
pub use seed_guest::GuestSeed;
pub use state::{SimGuest, SimNode, SimPool, SimSnapshot, SimState, SimStorage, SimVolume, StorageUsage, VersionInfo};
pub use statefile::{SimEnv, SimStateFile, append_log, replace_state, save_state, sim_state_file, sim_state_file_from_env, with_state};
pub use task_state::{Effect, HaPending, NewBackup, Pending, PowerTo, Settings, SimTask};
pub use transport::{SimBackend, SimTransport, load_state};
