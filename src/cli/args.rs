//! The command line as clap parses it: raw arguments, validated into a
//! [`super::config::Config`] before anything runs.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::backend::ResourceType;
use crate::backend::command::Tools;
use crate::backend::rest::Fingerprint;
use crate::model::SnapshotName;
use crate::model::{GuestKind, NodeName, StorageId, Upid, Vmid};

/// Examples shown at the end of the main commands' `--help` (a test parses each line).
pub(crate) mod examples {
    /// `guest list`.
    pub(crate) const GUEST_LIST: &str = "Examples:
  pvectl guest list --status running
  pvectl guest list --node pve1 --kind lxc -o json
  pvectl guest list -o wide --sort mem
  pvectl guest list --watch 5";
    /// `guest start`.
    pub(crate) const GUEST_START: &str = "Examples:
  pvectl guest start 100
  pvectl guest start web01 db01 --yes
  pvectl guest start --tag prod --status stopped --dry-run";
    /// `guest stop`.
    pub(crate) const GUEST_STOP: &str = "Examples:
  pvectl guest stop 100 --dry-run
  pvectl guest stop 100 --yes
  pvectl guest stop --pool test --yes --no-wait";
    /// `snapshot create`.
    pub(crate) const SNAPSHOT_CREATE: &str = "Examples:
  pvectl snapshot create 100 before-upgrade --description \"before apt upgrade\"
  pvectl snapshot create 100 --change CHG-1234
  pvectl snapshot create 100 --vmstate --yes";
    /// `backup create`.
    pub(crate) const BACKUP_CREATE: &str = "Examples:
  pvectl backup create 100 --storage local --mode snapshot --compress zstd
  pvectl backup create 100 101 --notes {{guestname}} --protected
  pvectl backup create --all --storage local --no-wait";
    /// `check`.
    pub(crate) const CHECK: &str = "Examples:
  pvectl check
  pvectl check storage --warn storage=80 --crit storage=90
  pvectl check all --format nagios";
    /// `api get`.
    pub(crate) const API_GET: &str = "Examples:
  pvectl api get /version
  pvectl api get /nodes/pve1/qemu
  pvectl api get /cluster/resources type=vm";
}

/// pvectl: manage Proxmox VE clusters safely.
#[derive(Debug, Parser)]
#[command(name = "pvectl", version, about, propagate_version = true)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Noun,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON document for programs.
    Json,
}

/// `-o`: the output format and, for tables, how many columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputChoice {
    /// Aligned columns for people.
    Table,
    /// Aligned columns with more of them (% used, node, duration, full text).
    Wide,
    /// One JSON document for programs.
    Json,
}

impl OutputChoice {
    /// The format: `wide` is a table.
    pub fn format(self) -> OutputFormat {
        match self {
            Self::Table | Self::Wide => OutputFormat::Table,
            Self::Json => OutputFormat::Json,
        }
    }
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options valid for every command; help lists them after each command's own options, under
/// their own heading.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
#[expect(clippy::struct_excessive_bools, reason = "independent command-line flags")]
pub struct GlobalArgs {
    /// Where to act: `sim`, `local`, `ssh://[user@]host[:port]`, `https://host[:port]`, or a
    /// target name from the config file (default: `https://$PROXMOX_HOST` when a host is set
    /// in the environment or `~/.proxmox-credentials`, else `local` when `pvesh` is on `PATH`).
    #[arg(short = 't', long, global = true, env = "PVECTL_TARGET")]
    pub target: Option<String>,
    /// API token id for https:// targets, `user@realm!tokenid` (else `PROXMOX_TOKEN_ID`, ...).
    #[arg(long, global = true, value_name = "USER@REALM!TOKENID")]
    pub token_id: Option<String>,
    /// File holding the API token secret (mode 0600). No flag takes the secret itself: a
    /// command line is visible to every local user (`ps`) and kept in shell history.
    #[arg(long, global = true, value_name = "FILE")]
    pub token_secret_file: Option<std::path::PathBuf>,
    /// Trust exactly the https:// node certificate with this SHA-256 fingerprint
    /// (`AA:BB:...`, as the PVE GUI shows it under System -> Certificates).
    #[arg(long, global = true, value_name = "SHA256", conflicts_with_all = ["ca_file", "insecure"])]
    pub fingerprint: Option<Fingerprint>,
    /// Trust the CA certificates of this PEM file instead of the system roots (e.g. a copy of
    /// the cluster's `/etc/pve/pve-root-ca.pem`).
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "insecure")]
    pub ca_file: Option<std::path::PathBuf>,
    /// Do not verify the https:// certificate at all (warns on every run; prefer --fingerprint).
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Output format (default: table on a terminal, json otherwise); `wide` is a table with
    /// more columns.
    #[arg(short = 'o', long = "output", global = true, value_enum)]
    pub output_choice: Option<OutputChoice>,
    /// Sort a listing's rows (and its JSON array) by this column, ascending (`--sort mem`).
    #[arg(long, global = true, value_name = "FIELD")]
    pub sort: Option<String>,
    /// Print table rows without the header line.
    #[arg(long, global = true)]
    pub no_headers: bool,
    /// Tools used by the command backend: pvesh (default) or qm-pct (for hosts allowing only qm/pct).
    #[arg(long, global = true, value_enum, default_value_t = Tools::Pvesh, env = "PVECTL_TOOLS")]
    pub tools: Tools,
    /// Run remote tools through `sudo -n` (never prompts).
    #[arg(long, global = true)]
    pub sudo: bool,
    /// ssh config file to use instead of `~/.ssh/config` (`ssh -F`).
    #[arg(long, global = true, env = "PVECTL_SSH_CONFIG", value_name = "FILE")]
    pub ssh_config: Option<std::path::PathBuf>,
    /// Accept and record the host key of a host not yet in `known_hosts` (`StrictHostKeyChecking=accept-new`).
    #[arg(long, global = true)]
    pub accept_new_host_key: bool,
    /// Close the SSH master at the end of this run instead of keeping it for the next one.
    #[arg(long, global = true)]
    pub no_persist: bool,
    /// Seconds an idle persistent SSH master stays up for later runs.
    #[arg(long, global = true, default_value_t = 60, env = "PVECTL_SSH_PERSIST", value_name = "SECONDS")]
    pub persist: u64,
    /// Answer yes to confirmations.
    #[arg(long, global = true)]
    pub yes: bool,
    /// Print the plan for a mutating command and exit without changing anything.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Deadline for waits, seconds (default 300). For `guest shutdown` it is also PVE's
    /// shutdown `timeout`, and the wait allows 60 s more.
    #[arg(long, global = true, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// More diagnostics on stderr (each command run, its duration).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to colour output: errors on stderr, the STATUS column of tables (never JSON).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Run on every target of the config file (a fleet; see `-t a,b` and `-t @group`).
    #[arg(long, global = true)]
    pub all_targets: bool,
    /// How many targets of a fleet are worked on at once.
    #[arg(long, global = true, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,
}

impl GlobalArgs {
    /// The `-o` format, when given (`wide` is a table).
    pub fn output(&self) -> Option<OutputFormat> {
        self.output_choice.map(OutputChoice::format)
    }
}

/// `--watch [SECONDS]` and `--cycles N` of the list and status reads.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct WatchArgs {
    /// Read and print again every SECONDS (default 2, at least 1) until interrupted: redrawn
    /// at a terminal, else one document per round (JSON: one per round). Put it after the
    /// command's own arguments or write `--watch=5`.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "2",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub watch: Option<u64>,
    /// Stop after this many rounds of `--watch` (for scripts and tests).
    #[arg(long, requires = "watch", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub cycles: Option<u64>,
}

/// Nouns (DESIGN.md §3).
#[derive(Debug, Subcommand)]
pub enum Noun {
    /// The cluster as a whole.
    #[command(subcommand)]
    Cluster(ClusterCmd),
    /// Cluster nodes.
    #[command(subcommand)]
    Node(NodeCmd),
    /// Guests: qemu VMs and lxc containers.
    #[command(subcommand)]
    Guest(GuestCmd),
    /// Guest snapshots.
    #[command(subcommand)]
    Snapshot(SnapshotCmd),
    /// PVE tasks (UPIDs).
    #[command(subcommand)]
    Task(TaskCmd),
    /// Storages.
    #[command(subcommand)]
    Storage(StorageCmd),
    /// Raw API calls (pvesh's verbs).
    #[command(subcommand)]
    Api(ApiCmd),
    /// Check that the target works: reachable, version, nodes, guests, tasks (reads only).
    Doctor,
    /// Health checks with thresholds; `--format nagios` for monitoring (reads only).
    #[command(after_help = examples::CHECK)]
    Check(CheckArgs),
    /// The local audit log of mutations (needs no target).
    #[command(subcommand)]
    Audit(AuditCmd),
    /// pvectl's own safety policy.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Backups (vzdump archives): create, list, restore, delete; backup jobs.
    #[command(subcommand)]
    Backup(BackupCmd),
    /// Resource pools.
    #[command(subcommand)]
    Pool(PoolCmd),
    /// High availability.
    #[command(subcommand)]
    Ha(HaCmd),
    /// Targets of the config file: list, show, test.
    #[command(subcommand)]
    Target(TargetCmd),
    /// pvectl's config file.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Print one JSON document describing every command: arguments and options, tier,
    /// whether it mutates, the JSON Schema of its `-o json` output, and the exit codes
    /// (needs no target).
    Schema,
    /// The built-in simulator's state (`-t sim`): show, reset, inject faults (needs no target).
    ///
    /// Touches only the simulator's state file (`PVE_SIM_STATE`, else
    /// `$XDG_STATE_HOME/pvectl/sim.json` or `~/.local/state/pvectl/sim.json`): nothing is sent to
    /// a PVE, so no consent is asked and no audit record written.
    #[command(subcommand)]
    Sim(super::sim::SimCmd),
    /// A shell completion script on stdout (needs no target): `source <(pvectl completion bash)`.
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page pvectl(1), or a command's (`pvectl man guest stop`), roff on stdout
    /// (needs no target): `pvectl man | man -l -`.
    Man {
        /// The command path (nouns and verbs); none for pvectl(1).
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// pvectl's version, git commit and build target; with `-t`, also the target's PVE version
    /// (`GET /version`).
    Version,
    /// Serve MCP (Model Context Protocol) on stdin/stdout for AI agents: one tool per read, and
    /// plan_<action> + apply for actions, with consent from a human (`[mcp] auto_approve`).
    ///
    /// Start it from the MCP client, e.g. `{"command": "pvectl", "args": ["-t", "pve1", "mcp"]}`.
    /// Reads return the CLI's `-o json` documents. A `plan_*` tool sends nothing and returns the
    /// plan and its digest; `apply {digest}` reads again and runs it only if nothing changed
    /// (else a conflict, `exit_code` 6, with the new plan). Plans up to `[mcp] auto_approve`
    /// (default "change") run at once; disruptive and destructive ones need the human's yes,
    /// asked through the client (MCP elicitation), or `approve: true` where
    /// `auto_approve = "disruptive"|"destructive"` allows it. Policy and the audit log (face
    /// `mcp`, the client's name) apply as for the CLI.
    Mcp,
    /// Serve a read-only web dashboard of the target or fleet (`-t a,b`, `-t @group`,
    /// `--all-targets`): fleet, target, guest, tasks, checks and audit pages, live updates.
    Dashboard(DashboardArgs),
}

/// `dashboard`
#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// Address to listen on; a non-loopback address needs `--token-file`. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// File (mode 0600) holding the bearer token viewers must present (`Authorization:
    /// Bearer`, or `?token=` once, then a cookie).
    #[arg(long)]
    pub token_file: Option<std::path::PathBuf>,
    /// Seconds between two refreshes of each target (at least 1); every page shares them.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub refresh: u64,
    /// Offer power actions and snapshot create on the guest page: each shows its plan (tier,
    /// calls, digest) and needs a confirm step; the target's policy applies, audited with the
    /// face `dashboard`.
    #[arg(long)]
    pub allow_actions: bool,
}

/// `pool ...`
#[derive(Debug, Subcommand)]
pub enum PoolCmd {
    /// Every pool (`GET /pools`).
    List,
    /// One pool with its members.
    Show {
        /// Pool id.
        pool: String,
    },
}

/// `ha ...`
#[derive(Debug, Subcommand)]
pub enum HaCmd {
    /// Quorum, manager, local resource managers and services (`GET /cluster/ha/status/current`).
    Status,
    /// HA resources (`GET /cluster/ha/resources`).
    Resources,
}

/// vzdump's `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackupMode {
    /// Live backup (qemu: a QMP backup job; lxc: a storage snapshot).
    Snapshot,
    /// Suspend the guest for the backup.
    Suspend,
    /// Stop the guest for the backup and start it again.
    Stop,
}

/// vzdump's `--compress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compress {
    /// zstd.
    Zstd,
    /// lzo.
    Lzo,
    /// gzip.
    Gzip,
    /// No compression.
    #[value(name = "0")]
    None,
}

/// `backup ...`
#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Back up guests with vzdump: one task per node (tier: change).
    #[command(after_help = examples::BACKUP_CREATE)]
    Create {
        /// Guest ids.
        vmids: Vec<Vmid>,
        /// Every guest of the cluster.
        #[arg(long, conflicts_with = "vmids")]
        all: bool,
        /// Target storage (a storage with `backup` content).
        #[arg(long)]
        storage: Option<StorageId>,
        /// Backup mode.
        #[arg(long, value_enum)]
        mode: Option<BackupMode>,
        /// Compression.
        #[arg(long, value_enum)]
        compress: Option<Compress>,
        /// Notes for the archive (PVE's `notes-template`: `{{guestname}}`, `{{vmid}}`, ... expand).
        #[arg(long)]
        notes: Option<String>,
        /// Protect the new archive from deletion and pruning.
        #[arg(long)]
        protected: bool,
        /// Prune older backups per the storage's retention (`remove`, 0 or 1).
        #[arg(long)]
        remove: Option<u8>,
        /// Return the UPIDs at once instead of waiting.
        #[arg(long)]
        no_wait: bool,
    },
    /// Backups on every node's backup storages, newest first.
    List {
        /// Only this storage.
        #[arg(long)]
        storage: Option<StorageId>,
        /// Only storages seen from this node.
        #[arg(long)]
        node: Option<NodeName>,
        /// Only backups of this guest.
        #[arg(long)]
        vmid: Option<Vmid>,
        /// Only this kind.
        #[arg(long, value_parser = parse_kind)]
        kind: Option<GuestKind>,
    },
    /// Restore a backup: to a new vmid (tier: change) or over an existing guest with `--force`
    /// (tier: destructive).
    Restore {
        /// The backup's volid (`STORAGE:backup/vzdump-...`).
        volid: String,
        /// The guest id to restore to (default: the backed-up guest's).
        #[arg(long)]
        vmid: Option<Vmid>,
        /// Replace the existing guest (PVE's `force=1`).
        #[arg(long)]
        force: bool,
        /// Storage for the restored disks.
        #[arg(long)]
        storage: Option<StorageId>,
        /// Start the guest afterwards.
        #[arg(long)]
        start: bool,
        /// Give the restored guest new MAC addresses (PVE's `unique`).
        #[arg(long)]
        unique: bool,
    },
    /// Delete a backup (tier: destructive); a protected one only with `--force`.
    Delete {
        /// The backup's volid.
        volid: String,
        /// Clear the backup's protected flag first.
        #[arg(long)]
        force: bool,
    },
    /// Scheduled backup jobs with their next run (`GET /cluster/backup`).
    Jobs,
    /// Guests no backup job covers (`GET /cluster/backup-info/not-backed-up`).
    Missing,
}

impl Noun {
    /// The `--watch` of a list or status read that has one and was given.
    pub fn watch(&self) -> Option<WatchArgs> {
        let w = match self {
            Self::Guest(GuestCmd::List { watch, .. } | GuestCmd::Status { watch, .. })
            | Self::Node(NodeCmd::List { watch })
            | Self::Task(TaskCmd::List { watch, .. })
            | Self::Cluster(ClusterCmd::Status { watch }) => *watch,
            _ => return None,
        };
        w.watch.is_some().then_some(w)
    }

    /// Whether the command only reads from its target: reads get the short default deadline
    /// and may run on several targets. Commands that wait for a task (`task wait`, `task log
    /// --follow`) and everything going through the action engine are not reads; the local
    /// commands (`audit`, `target`, `config`) open no target.
    pub fn is_read(&self) -> bool {
        match self {
            Self::Cluster(_)
            | Self::Node(_)
            | Self::Storage(_)
            | Self::Pool(_)
            | Self::Ha(_)
            | Self::Doctor
            | Self::Policy(_)
            | Self::Check(_)
            | Self::Version => true,
            Self::Guest(g) => matches!(
                g,
                GuestCmd::List { .. }
                    | GuestCmd::Status { .. }
                    | GuestCmd::Config { .. }
                    | GuestCmd::Pending { .. }
                    | GuestCmd::Ip { .. }
                    | GuestCmd::Agent { .. }
                    | GuestCmd::Diagnose { .. }
            ),
            Self::Snapshot(s) => matches!(s, SnapshotCmd::List { .. }),
            Self::Task(t) => matches!(t, TaskCmd::List { .. } | TaskCmd::Status { .. } | TaskCmd::Log { follow: false, .. }),
            Self::Backup(b) => matches!(b, BackupCmd::List { .. } | BackupCmd::Jobs | BackupCmd::Missing),
            Self::Api(a) => matches!(a, ApiCmd::Get { .. } | ApiCmd::Usage { .. } | ApiCmd::Ls { .. }),
            Self::Audit(_)
            | Self::Target(_)
            | Self::Config(_)
            | Self::Schema
            | Self::Sim(_)
            | Self::Completion { .. }
            | Self::Man { .. }
            // `mcp`: a session of many calls, reads and actions, each with its own deadline.
            | Self::Mcp
            | Self::Dashboard(_) => false,
        }
    }
}

/// `policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// The effective rules for the selected target: built-in, `[policy]`, `[targets.NAME.policy]`.
    Show,
}

/// `cluster ...`
#[derive(Debug, Subcommand)]
pub enum ClusterCmd {
    /// Cluster name, quorum and nodes (`GET /cluster/status`).
    Status {
        /// Repeat.
        #[command(flatten)]
        watch: WatchArgs,
    },
    /// Every resource (`GET /cluster/resources`).
    Resources {
        /// Only this type.
        #[arg(long = "type", value_enum)]
        resource_type: Option<ResourceType>,
    },
}

/// `node ...`
#[derive(Debug, Subcommand)]
pub enum NodeCmd {
    /// All nodes (`GET /nodes`).
    List {
        /// Repeat.
        #[command(flatten)]
        watch: WatchArgs,
    },
    /// One node's status (`GET /nodes/{node}/status`).
    Status {
        /// Node name.
        node: NodeName,
    },
}

/// Where to find a guest without a discovery read.
#[derive(Debug, Clone, Args)]
pub struct Locate {
    /// Node the guest is on (with --kind, skips the discovery read).
    #[arg(long)]
    pub node: Option<NodeName>,
    /// Kind of the guest (with --node, skips the discovery read).
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<GuestKind>,
}

/// `--status`: one of [`crate::model::GUEST_STATUSES`]; a typo is a usage error (exit 2)
/// listing them.
fn guest_status() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(crate::model::GUEST_STATUSES.iter().copied())
}

fn parse_kind(s: &str) -> Result<GuestKind, String> {
    s.parse()
}

/// Options of every mutating guest command.
#[derive(Debug, Clone, Args)]
pub struct ActArgs {
    /// Guest id.
    pub vmid: Vmid,
    /// Location.
    #[command(flatten)]
    pub at: Locate,
    /// Return the UPID at once instead of waiting (where the backend returns before the task ends).
    #[arg(long)]
    pub no_wait: bool,
}

/// Options of the power actions: one guest or several, by vmid, name or selector.
#[derive(Debug, Clone, Args)]
pub struct PowerArgs {
    /// Guests: vmids or unique names. With several, or a selector flag, the output is one
    /// result per guest (`[{guest, ok, report|error}]`).
    #[arg(value_name = "GUEST", required_unless_present_any = ["tag", "pool", "status", "all", "node", "kind"])]
    pub guests: Vec<String>,
    /// Node (one guest: where it is, with --kind skips the discovery read; else a selector).
    #[command(flatten)]
    pub at: Locate,
    /// Select the guests with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Select the guests in this pool.
    #[arg(long)]
    pub pool: Option<String>,
    /// Select the guests with this status (running, stopped, paused, ...; PVE's values).
    #[arg(long, value_parser = guest_status())]
    pub status: Option<String>,
    /// Select every guest (templates left out); narrowed by the other selectors.
    #[arg(long)]
    pub all: bool,
    /// At most this many guests acted on at a time.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Return the UPID at once instead of waiting (where the backend returns before the task ends).
    #[arg(long)]
    pub no_wait: bool,
}

/// `guest ...`
#[derive(Debug, Subcommand)]
pub enum GuestCmd {
    /// Start (tier: change).
    #[command(after_help = examples::GUEST_START)]
    Start(PowerArgs),
    /// Clean shutdown (tier: disruptive); `--timeout` is PVE's shutdown timeout.
    Shutdown {
        /// Guest and options.
        #[command(flatten)]
        act: PowerArgs,
        /// Stop the guest if it has not shut down when the timeout passes (PVE's `forceStop`).
        #[arg(long)]
        force_stop: bool,
    },
    /// Clean reboot (tier: disruptive).
    Reboot(PowerArgs),
    /// Hard stop (tier: destructive).
    #[command(after_help = examples::GUEST_STOP)]
    Stop(PowerArgs),
    /// Hard reset, qemu only (tier: destructive).
    Reset(PowerArgs),
    /// Suspend / pause (tier: disruptive).
    Suspend(PowerArgs),
    /// Resume a suspended guest (tier: change).
    Resume(PowerArgs),
    /// Guests cluster-wide (one `GET /cluster/resources --type vm`).
    #[command(after_help = examples::GUEST_LIST)]
    List {
        /// Only guests on this node.
        #[arg(long)]
        node: Option<NodeName>,
        /// Only this kind.
        #[arg(long, value_parser = parse_kind)]
        kind: Option<GuestKind>,
        /// Only guests with this status (running, stopped, paused, ...; PVE's values).
        #[arg(long, value_parser = guest_status())]
        status: Option<String>,
        /// Only guests with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Only guests in this pool.
        #[arg(long)]
        pool: Option<String>,
        /// Repeat.
        #[command(flatten)]
        watch: WatchArgs,
    },
    /// One guest's current status.
    Status {
        /// The guest: a vmid or its unique name.
        #[arg(value_name = "GUEST")]
        guest: String,
        /// Location.
        #[command(flatten)]
        at: Locate,
        /// Repeat.
        #[command(flatten)]
        watch: WatchArgs,
    },
    /// One guest's configuration.
    Config {
        /// The guest: a vmid or its unique name.
        #[arg(value_name = "GUEST")]
        guest: String,
        /// Location.
        #[command(flatten)]
        at: Locate,
    },
    /// Config changes waiting for a restart (`GET .../pending`).
    Pending {
        /// The guest: a vmid or its unique name.
        #[arg(value_name = "GUEST")]
        guest: String,
    },
    /// Clone a guest (tier: change). A linked clone (`--linked`) only from a template.
    Clone(CloneArgs),
    /// Convert a guest into a template (tier: destructive: irreversible); refused while it runs.
    Template {
        /// Guest id.
        vmid: Vmid,
    },
    /// Create a guest: lxc from an ostemplate, or an empty qemu VM (tier: change).
    Create(Box<CreateArgs>),
    /// Delete a guest and its disks (tier: destructive).
    Delete {
        /// Guest id.
        vmid: Vmid,
        /// Also remove it from backup jobs, replication and HA (PVE's `purge`).
        #[arg(long)]
        purge: bool,
        /// Also destroy disks not referenced in its config.
        #[arg(long)]
        destroy_unreferenced_disks: bool,
    },
    /// Change config keys (tier: change for name, description, tags, onboot, protection=1;
    /// destructive otherwise). Passes PVE's config digest: a concurrent edit is refused (exit 6).
    Set(SetArgs),
    /// Clear a guest's lock (`backup`, `clone`, `migrate`, ...) (tier: destructive).
    Unlock {
        /// Guest id.
        vmid: Vmid,
    },
    /// Move a guest to another node (tier: disruptive). HA-managed guests move through HA.
    Migrate {
        /// Guest id.
        vmid: Vmid,
        /// Target node.
        node: NodeName,
        /// qemu: live-migrate a running VM.
        #[arg(long)]
        online: bool,
        /// qemu: also copy disks on local storage.
        #[arg(long)]
        with_local_disks: bool,
        /// Storage on the target for the local disks.
        #[arg(long)]
        target_storage: Option<StorageId>,
        /// lxc: stop, move and start a running container.
        #[arg(long)]
        restart: bool,
    },
    /// Grow a disk (tier: destructive): `SIZE` absolute or `+SIZE` relative, PVE's units
    /// (`K`, `M`, `G`, `T`, binary); shrinking is refused.
    Resize {
        /// Guest id.
        vmid: Vmid,
        /// Drive (`scsi0`, `virtio0`, `rootfs`, `mp0`).
        disk: String,
        /// New size (`40G`) or growth (`+2G`).
        #[arg(allow_hyphen_values = false)]
        size: String,
    },
    /// Move a disk to another storage (tier: destructive).
    MoveDisk {
        /// Guest id.
        vmid: Vmid,
        /// Drive or volume (`scsi0`, `rootfs`, `mp0`).
        disk: String,
        /// Target storage.
        storage: StorageId,
        /// Remove the source volume afterwards (else it stays as `unusedN`).
        #[arg(long)]
        delete: bool,
        /// Target format (qemu: `raw`, `qcow2`, `vmdk`).
        #[arg(long)]
        format: Option<String>,
    },
    /// A guest's IP addresses: qemu through the guest agent, lxc from its interfaces.
    Ip {
        /// Guest id.
        vmid: Vmid,
    },
    /// Ask the qemu guest agent (reads): ping, info, osinfo, fsinfo, time, users.
    Agent {
        /// Guest id.
        vmid: Vmid,
        /// The agent command.
        #[arg(value_enum)]
        command: AgentCmd,
    },
    /// Run a command inside the guest (tier: destructive): qemu through the guest agent, lxc
    /// with `pct exec`. The command's exit code is in the report; pvectl exits 0 when it ran.
    Exec {
        /// Guest id.
        vmid: Vmid,
        /// The program and its arguments, after `--`.
        #[arg(last = true, required = true)]
        argv: Vec<String>,
    },
    /// Copy files into or out of a guest.
    #[command(subcommand)]
    File(FileCmd),
    /// What is wrong with a guest and why (reads only): status, lock and the task holding it,
    /// recent tasks with the log of the last failed one, HA, node, storages, agent; each
    /// finding with the next commands to run.
    Diagnose {
        /// Guest id.
        vmid: Vmid,
    },
}

/// `guest file ...`
#[derive(Debug, Subcommand)]
pub enum FileCmd {
    /// Copy a file into the guest (tier: destructive). qemu: a local file of at most 60 KiB,
    /// through the agent; lxc: `pct push`, SRC being a path on the node.
    Push {
        /// Guest id.
        vmid: Vmid,
        /// The file to copy (qemu: on this machine; lxc: on the node).
        src: String,
        /// The path inside the guest.
        dst: String,
    },
    /// Copy a file out of the guest (tier: read). qemu: through the agent to this machine;
    /// lxc: `pct pull`, DST being a path on the node.
    Pull {
        /// Guest id.
        vmid: Vmid,
        /// The path inside the guest.
        src: String,
        /// Where to write it (qemu: on this machine; lxc: on the node).
        dst: String,
    },
}

/// `guest agent` commands (the agent's own names in parentheses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgentCmd {
    /// Is the agent answering (`ping`).
    Ping,
    /// The agent's version and commands (`info`).
    Info,
    /// The guest OS (`get-osinfo`).
    Osinfo,
    /// Mounted file systems (`get-fsinfo`).
    Fsinfo,
    /// The guest's clock (`get-time`).
    Time,
    /// Logged-in users (`get-users`).
    Users,
}

impl AgentCmd {
    /// The agent command's API name.
    pub fn api_name(self) -> &'static str {
        match self {
            Self::Ping => "ping",
            Self::Info => "info",
            Self::Osinfo => "get-osinfo",
            Self::Fsinfo => "get-fsinfo",
            Self::Time => "get-time",
            Self::Users => "get-users",
        }
    }
}

/// `guest clone` options.
#[derive(Debug, Clone, Args)]
pub struct CloneArgs {
    /// Source guest id.
    pub vmid: Vmid,
    /// New guest id (default: the next free one, `/cluster/nextid`).
    pub newid: Option<Vmid>,
    /// Name of the new guest (its hostname for lxc).
    #[arg(long)]
    pub name: Option<String>,
    /// Copy every disk.
    #[arg(long, conflicts_with = "linked")]
    pub full: bool,
    /// Share the template's disks (templates only).
    #[arg(long)]
    pub linked: bool,
    /// Node for the new guest.
    #[arg(long)]
    pub target_node: Option<NodeName>,
    /// Storage for the copied disks (full clones).
    #[arg(long)]
    pub storage: Option<StorageId>,
    /// Pool to add the new guest to.
    #[arg(long)]
    pub pool: Option<String>,
    /// Description of the new guest.
    #[arg(long)]
    pub description: Option<String>,
}

/// `guest create` options. Secrets come only from files (`-` = stdin), never from argv.
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// qemu or lxc.
    #[arg(long, value_parser = parse_kind)]
    pub kind: GuestKind,
    /// Guest id (default: the next free one).
    #[arg(long)]
    pub vmid: Option<Vmid>,
    /// Node to create it on (required in a cluster of several nodes).
    #[arg(long)]
    pub node: Option<NodeName>,
    /// lxc: the OS template volid (`local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`).
    #[arg(long)]
    pub ostemplate: Option<String>,
    /// lxc: host name.
    #[arg(long)]
    pub hostname: Option<String>,
    /// qemu: name.
    #[arg(long)]
    pub name: Option<String>,
    /// Storage for the root disk (lxc `rootfs` as `STORAGE:SIZE_GB` when `--rootfs` is a size).
    #[arg(long)]
    pub storage: Option<StorageId>,
    /// lxc: root disk size in GiB (with --storage) or PVE's full `rootfs` value.
    #[arg(long)]
    pub rootfs: Option<String>,
    /// Memory, MiB.
    #[arg(long)]
    pub memory: Option<u64>,
    /// CPU cores.
    #[arg(long)]
    pub cores: Option<u32>,
    /// First network device, PVE's `net0` value (`name=eth0,bridge=vmbr0,ip=dhcp` for lxc,
    /// `virtio,bridge=vmbr0` for qemu).
    #[arg(long)]
    pub net0: Option<String>,
    /// lxc: a file of SSH public keys for root.
    #[arg(long, value_name = "FILE")]
    pub ssh_public_keys: Option<std::path::PathBuf>,
    /// lxc: a file holding root's password (`-` reads stdin). Never on the command line.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<std::path::PathBuf>,
    /// lxc: unprivileged container.
    #[arg(long)]
    pub unprivileged: bool,
    /// qemu: first SCSI disk, `STORAGE:SIZE_GB`.
    #[arg(long)]
    pub scsi0: Option<String>,
    /// qemu: OS type (`l26`, `win11`, ...).
    #[arg(long)]
    pub ostype: Option<String>,
    /// qemu: an ISO volid for the CD drive (`ide2`).
    #[arg(long)]
    pub cdrom: Option<String>,
    /// qemu cloud-init: user name.
    #[arg(long)]
    pub ciuser: Option<String>,
    /// qemu cloud-init: a file of SSH public keys.
    #[arg(long, value_name = "FILE")]
    pub sshkeys: Option<std::path::PathBuf>,
    /// qemu cloud-init: `ipconfig0` (`ip=dhcp` or `ip=10.0.0.5/24,gw=10.0.0.1`).
    #[arg(long)]
    pub ipconfig0: Option<String>,
    /// Start it once created.
    #[arg(long)]
    pub start: bool,
}

/// `guest set` options.
#[derive(Debug, Clone, Args)]
pub struct SetArgs {
    /// Guest id.
    pub vmid: Vmid,
    /// Config keys as `key=value`, in order.
    pub params: Vec<String>,
    /// Keys to remove (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub delete: Vec<String>,
    /// Memory, MiB.
    #[arg(long)]
    pub memory: Option<u64>,
    /// CPU cores.
    #[arg(long)]
    pub cores: Option<u32>,
    /// Tags, `;`-separated.
    #[arg(long)]
    pub tags: Option<String>,
    /// Start at boot (0 or 1).
    #[arg(long)]
    pub onboot: Option<u8>,
    /// PVE's protection flag (0 or 1; clearing it is destructive).
    #[arg(long)]
    pub protection: Option<u8>,
    /// Description.
    #[arg(long)]
    pub description: Option<String>,
    /// Name (the hostname for lxc).
    #[arg(long)]
    pub name: Option<String>,
}

/// `snapshot ...`
#[derive(Debug, Subcommand)]
pub enum SnapshotCmd {
    /// Create a snapshot (tier: change). Without a name, one is generated.
    #[command(after_help = examples::SNAPSHOT_CREATE)]
    Create {
        /// Guest and options.
        #[command(flatten)]
        act: ActArgs,
        /// Snapshot name (letter first, then letters, digits, `_`, `-`; at most 40).
        name: Option<SnapshotName>,
        /// Description (any text; passed as one argument).
        #[arg(long)]
        description: Option<String>,
        /// Also save the RAM state (qemu; freezes the guest while written, heavy I/O).
        #[arg(long)]
        vmstate: bool,
        /// Name the snapshot `<prefix>-<CHANGE>` after a change ticket.
        #[arg(long, value_name = "CHANGE", conflicts_with = "name")]
        change: Option<String>,
        /// Prefix for `--change` names [default: the config file's `change_prefix`, else `change`].
        #[arg(long, env = "PVECTL_CHANGE_PREFIX")]
        prefix: Option<String>,
        /// Template for generated names (`%Y %m %d %H %M %S`, UTC) [default: the config
        /// file's `template`, else `pvectl-%Y%m%d-%H%M%S`].
        #[arg(long, env = "PVECTL_SNAPSHOT_TEMPLATE")]
        template: Option<String>,
    },
    /// Roll back to a snapshot (tier: destructive).
    Rollback {
        /// Guest and options.
        #[command(flatten)]
        act: ActArgs,
        /// Snapshot name.
        name: SnapshotName,
        /// Start the guest after the rollback.
        #[arg(long)]
        start: bool,
    },
    /// Delete a snapshot (tier: destructive).
    Delete {
        /// Guest and options.
        #[command(flatten)]
        act: ActArgs,
        /// Snapshot name.
        name: SnapshotName,
    },
    /// A guest's snapshots, with the `current` entry.
    List {
        /// The guest: a vmid or its unique name.
        #[arg(value_name = "GUEST")]
        guest: String,
        /// Location.
        #[command(flatten)]
        at: Locate,
    },
}

/// `task ...`
#[derive(Debug, Subcommand)]
pub enum TaskCmd {
    /// Recent tasks (`GET /nodes/{node}/tasks`, every node when --node is not given), newest first.
    List {
        /// Only this node.
        #[arg(long)]
        node: Option<NodeName>,
        /// Only tasks of this guest (PVE's `vmid` filter): how to find a guest's UPIDs.
        #[arg(long)]
        vmid: Option<Vmid>,
        /// Repeat.
        #[command(flatten)]
        watch: WatchArgs,
    },
    /// One task's status.
    Status {
        /// The task's UPID.
        upid: Upid,
    },
    /// Wait for a task to end (exit 7 if it failed, 8 past the deadline).
    Wait {
        /// The task's UPID.
        upid: Upid,
    },
    /// One task's log.
    Log {
        /// The task's UPID.
        upid: Upid,
        /// Keep printing new lines while the task runs.
        #[arg(long, short = 'f')]
        follow: bool,
        /// First line, 0-based.
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// Most lines to show.
        #[arg(long, default_value_t = 500)]
        limit: u64,
    },
}

/// `storage ...`
#[derive(Debug, Subcommand)]
pub enum StorageCmd {
    /// Storages with usage, per node.
    List {
        /// Only this node.
        #[arg(long)]
        node: Option<NodeName>,
    },
    /// What a storage holds (`GET /nodes/{node}/storage/{storage}/content`).
    Content {
        /// Storage id.
        storage: StorageId,
        /// Node to list from (default: the first online node that has the storage).
        #[arg(long)]
        node: Option<NodeName>,
        /// Only this content type.
        #[arg(long, value_parser = ["iso", "vztmpl", "backup", "images", "rootdir", "snippets", "import"])]
        content: Option<String>,
    },
}

/// `api ...`
#[derive(Debug, Subcommand)]
pub enum ApiCmd {
    /// `POST <path>` (tier: the action's for action paths, else destructive).
    Create {
        /// API path.
        path: String,
        /// Parameters as `key=value`.
        params: Vec<String>,
    },
    /// `PUT <path>` (tier: destructive).
    Set {
        /// API path.
        path: String,
        /// Parameters as `key=value`.
        params: Vec<String>,
    },
    /// `DELETE <path>` (tier: destructive).
    Delete {
        /// API path.
        path: String,
        /// Parameters as `key=value`.
        params: Vec<String>,
    },
    /// `GET <path>` with `key=value` parameters; prints the JSON result.
    #[command(after_help = examples::API_GET)]
    Get {
        /// API path, e.g. `/nodes/pve1/qemu`.
        path: String,
        /// Parameters as `key=value`.
        params: Vec<String>,
    },
    /// What PVE's API offers at a path, as `pvesh usage` answers it, offline from the embedded
    /// API schema (needs no target): each method with its parameters; with `-v` their types,
    /// defaults, descriptions and the privileges the method requires (`-o json` always
    /// carries all of it).
    Usage {
        /// API path, a template (`/nodes/{node}/qemu/{vmid}/status/stop`) or concrete (`/nodes/pve1/qemu/100/status/stop`).
        path: String,
        /// Only this pvesh verb.
        #[arg(long, value_parser = ["get", "set", "create", "delete"])]
        command: Option<String>,
    },
    /// The children of an API path in the embedded schema, as `pvesh ls` lists them, with
    /// the methods each supports (needs no target).
    Ls {
        /// API path.
        path: String,
    },
}

/// `audit ...`: the log named by `PVECTL_AUDIT_LOG` (else `$XDG_STATE_HOME/pvectl/audit.log`,
/// else `~/.local/state/pvectl/audit.log`).
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Records, oldest first: intents, outcomes, refusals.
    Show {
        /// Only records about this guest.
        #[arg(long)]
        vmid: Option<Vmid>,
        /// Only records since then: seconds ago, or a Unix time (from 1000000000 on).
        #[arg(long, value_name = "SECONDS_AGO_OR_UNIX_TIME")]
        since: Option<u64>,
        /// Only the last N records (after the other filters).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Check the hash chain: exit 0 when intact, 10 naming the first broken line.
    Verify,
}

/// `target ...`
#[derive(Debug, Subcommand)]
pub enum TargetCmd {
    /// The config file's targets: name, kind, url (and groups).
    List {
        /// Also reach each target (concurrently): reachable, PVE version, latency.
        #[arg(long)]
        check: bool,
    },
    /// One target's settings (secrets never shown: only where the secret comes from).
    Show {
        /// Target name.
        name: String,
    },
    /// Reach one target: connect, read the PVE version and the nodes.
    Test {
        /// Target name (or any target: `sim`, `ssh://...`, `https://...`).
        name: String,
    },
}

/// `config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Write a commented starting config file (mode 0600; never overwrites).
    Init,
}

/// How `check` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// One Nagios plugin line with perfdata, long text, exit 0/1/2/3.
    Nagios,
    /// `{set, status, findings}`.
    Json,
    /// Aligned columns.
    Table,
}

/// `pvectl check [SET] [--warn K=V] [--crit K=V] [--format F] [--watch ...]`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The check set.
    #[arg(value_enum, default_value = "all")]
    pub set: crate::checks::CheckSet,
    /// Warning thresholds, `KEY=VALUE` (repeat or comma-separate): cpu, mem, swap, rootfs, load,
    /// storage, guest-mem, backup-age, task-hours, cert-days (days left: low is bad), disk-wear,
    /// updates, replication-fails, snapshot-age.
    #[arg(long, value_name = "KEY=VALUE")]
    pub warn: Vec<String>,
    /// Critical thresholds, `KEY=VALUE`.
    #[arg(long, value_name = "KEY=VALUE")]
    pub crit: Vec<String>,
    /// Output: nagios (plugin line, exit 0/1/2/3), json or table (default: as `-o`).
    #[arg(long, value_enum)]
    pub format: Option<CheckFormat>,
    /// Check again every `--interval` seconds; alert on state changes only.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between rounds of `--watch`.
    #[arg(long, default_value_t = 60, requires = "watch", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval: u64,
    /// Command run for each change, the change as JSON on its stdin (no shell; words split
    /// as a POSIX shell would).
    #[arg(long, requires = "watch", value_name = "CMD")]
    pub alert_command: Option<String>,
    /// URL each change is sent to as a JSON `POST`.
    #[arg(long, requires = "watch", value_name = "URL")]
    pub alert_webhook: Option<String>,
    /// Stop after this many rounds (for tests and cron-driven use).
    #[arg(long, requires = "watch", value_name = "N")]
    pub cycles: Option<u64>,
}
