//! The catalog of pvectl's commands, for `pvectl schema` and for faces that must agree with
//! the command line (the MCP server's tools are named after these paths: `guest_list`,
//! `plan_guest_stop`). Names, arguments and options come from clap's introspection of the
//! real [`Cli`], so they cannot drift; this file adds only what clap does not know: each
//! command's tier, whether it mutates, whether it needs a target, and the JSON Schema of its
//! `-o json` output, derived with schemars from the types the command prints.

use clap::{ArgAction, CommandFactory as _};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema, json_schema};
use serde::Serialize;
use serde_json::{Value, json};

use super::args::Cli;
use crate::backend::Tier;
use crate::exit_codes;
use crate::model;

/// One command of the catalog (a leaf of clap's command tree).
#[derive(Debug, Clone, Serialize)]
pub struct CommandInfo {
    /// The subcommand path: `["guest", "stop"]`.
    pub path: Vec<String>,
    /// What it does: clap's about text.
    pub about: String,
    /// Positional arguments, in order.
    pub args: Vec<ArgInfo>,
    /// Its own options (the global ones are listed once in [`schema_document`]).
    pub options: Vec<ArgInfo>,
    /// The safety tier of what it does; for a command whose tier depends on its arguments,
    /// the highest it can have (see `tier_note`).
    pub tier: Tier,
    /// When the tier depends on the arguments: how.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier_note: Option<&'static str>,
    /// Whether it can change the target (it runs on the action engine: plan, consent, audit).
    pub mutates: bool,
    /// Whether it opens a target (`-t`); local commands (`audit`, `api usage`, `schema`) do not.
    pub needs_target: bool,
    /// The JSON Schema of its `-o json` output on stdout, its `$ref`s into the document's
    /// `$defs` ([`output_schema`] gives one that stands alone).
    pub output: Value,
}

impl CommandInfo {
    /// The name a tool for this command takes in the MCP server: the path joined by `_`,
    /// `-` as `_` (`guest_list`, `guest_move_disk`); actions add a `plan_` prefix there.
    pub fn tool_name(&self) -> String {
        self.path.join("_").replace('-', "_")
    }
}

/// One argument or option of a command, from clap.
#[derive(Debug, Clone, Serialize)]
pub struct ArgInfo {
    /// clap's id (the field name: `no_wait`).
    pub name: String,
    /// `--long` form, for options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long: Option<String>,
    /// `-s` form, for options that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short: Option<char>,
    /// `flag` (takes no value), `count` (repeatable flag), `value` or `values` (repeatable
    /// or several).
    pub kind: &'static str,
    /// The value's name in help (`GUEST`, `SECONDS`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub value_names: Vec<String>,
    /// Help text.
    pub help: String,
    /// Whether it must be given.
    pub required: bool,
    /// Defaults, as text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub default: Vec<String>,
    /// The values allowed, when clap knows them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub possible_values: Vec<String>,
    /// The environment variable that supplies it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

impl ArgInfo {
    fn from_clap(a: &clap::Arg) -> Self {
        let kind = match a.get_action() {
            ArgAction::SetTrue
            | ArgAction::SetFalse
            | ArgAction::Help
            | ArgAction::Version
            | ArgAction::HelpShort
            | ArgAction::HelpLong => "flag",
            ArgAction::Count => "count",
            ArgAction::Append => "values",
            _ if a.get_num_args().is_some_and(|n| n.max_values() > 1) => "values",
            _ => "value",
        };
        let text = |s: &clap::builder::StyledStr| s.to_string();
        Self {
            name: a.get_id().to_string(),
            long: a.get_long().map(str::to_owned),
            short: a.get_short(),
            kind,
            value_names: if kind == "flag" || kind == "count" {
                Vec::new()
            } else {
                a.get_value_names()
                    .map_or_else(|| vec![a.get_id().to_string().to_uppercase()], |v| v.iter().map(ToString::to_string).collect())
            },
            help: a.get_long_help().or_else(|| a.get_help()).map(text).unwrap_or_default(),
            required: a.is_required_set(),
            default: if kind == "flag" {
                Vec::new()
            } else {
                a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect()
            },
            possible_values: if kind == "flag" {
                Vec::new()
            } else {
                a.get_possible_values().iter().filter(|p| !p.is_hide_set()).map(|p| p.get_name().to_owned()).collect()
            },
            env: a.get_env().map(|e| e.to_string_lossy().into_owned()),
        }
    }
}

/// What a command prints with `-o json`, for the schema.
enum Out {
    /// The JSON Schema of this type.
    Typed(fn(&mut SchemaGenerator) -> Schema),
    /// An action: its report, its plan (`--dry-run`, or exit 3), or one result per guest.
    Action,
    /// A document the CLI builds without a type yet: only its outer shape is promised.
    Shape(Value),
    /// PVE's answer, passed through as it came.
    Passthrough,
    /// A raw `api` write: a report or plan as [`Out::Action`], or PVE's answer when it
    /// started no task.
    RawWrite,
}

/// What clap does not know about a command.
struct Spec {
    tier: Tier,
    tier_note: Option<&'static str>,
    mutates: bool,
    needs_target: bool,
    out: Out,
}

fn typed<T: JsonSchema>() -> Out {
    Out::Typed(SchemaGenerator::subschema_for::<T>)
}

fn read(out: Out) -> Spec {
    Spec { tier: Tier::Read, tier_note: None, mutates: false, needs_target: true, out }
}

fn local(out: Out) -> Spec {
    Spec { needs_target: false, ..read(out) }
}

fn action(tier: Tier) -> Spec {
    Spec { tier, tier_note: None, mutates: true, needs_target: true, out: Out::Action }
}

fn varies(tier: Tier, note: &'static str) -> Spec {
    Spec { tier_note: Some(note), ..action(tier) }
}

fn object(desc: &str) -> Out {
    Out::Shape(json!({"type": "object", "description": desc}))
}

fn objects(desc: &str) -> Out {
    Out::Shape(json!({"type": "array", "items": {"type": "object"}, "description": desc}))
}

/// What the catalog adds to each command path (`"guest stop"`): tier, effect, output. A test
/// checks that every leaf command of clap has an entry here, and that no entry names a
/// command clap lacks.
/// What every `sim` command prints: the simulator's state file and its faults (simulated data).
const SIM_SUMMARY: &str = "`{state_file, source, locked, offline_nodes, faults}` of the simulator (simulated data)";

/// The commands that never open a target beyond the simulator: `sim`, `completion`, `man`,
/// `version` (with `-t` it also reads `GET /version`).
fn local_tools() -> Vec<(&'static str, Spec)> {
    let mut t = vec![
        ("sim show", local(object(SIM_SUMMARY))),
        ("completion", local(Out::Shape(json!({"description": "not JSON: the shell's completion script, as text"})))),
        ("man", local(Out::Shape(json!({"description": "not JSON: a manual page in roff, as text"})))),
        (
            "version",
            local(object(
                "`{client: {name, version, commit, target}}`, with `-t` also `server`: the target's `GET /version` (`version`, `release`, `repoid`)",
            )),
        ),
    ];
    // `sim reset|fault` change only the simulator's state file, never a PVE: tier read, no consent.
    for path in [
        "sim reset",
        "sim fault lock",
        "sim fault task-fail",
        "sim fault task-warn",
        "sim fault task-slow",
        "sim fault node-offline",
        "sim fault agent-down",
        "sim fault latency",
        "sim fault hang",
        "sim fault deny",
        "sim fault clear",
    ] {
        t.push((path, local(object(SIM_SUMMARY))));
    }
    t
}

/// The long-running faces: `mcp` and `dashboard` (their own tools and pages carry tiers).
fn servers() -> Vec<(&'static str, Spec)> {
    use Tier::Destructive;
    vec![
        (
            "mcp",
            Spec {
                out: Out::Shape(json!({"description": "not one JSON document: an MCP session (JSON-RPC 2.0 over stdin/stdout)"})),
                ..varies(Destructive, "a session: each MCP tool has its own tier (reads, plan_* tools, apply)")
            },
        ),
        (
            "dashboard",
            Spec {
                out: Out::Shape(
                    json!({"type": "string", "description": "a web server: `listening http://ADDR` on stdout, then pages over HTTP"}),
                ),
                ..varies(
                    Destructive,
                    "read-only unless --allow-actions; then power actions (stop and reset are destructive) and snapshot create, each planned and confirmed on the page",
                )
            },
        ),
    ]
}

fn table() -> Vec<(&'static str, Spec)> {
    use Tier::{Change, Destructive, Disruptive};
    let mut t = vec![
        ("cluster status", read(typed::<Vec<model::ClusterStatusEntry>>())),
        ("cluster resources", read(typed::<Vec<model::ClusterResource>>())),
        ("node list", read(typed::<Vec<model::Node>>())),
        ("node status", read(typed::<model::NodeStatus>())),
        ("guest list", read(typed::<Vec<model::Guest>>())),
        ("guest status", read(typed::<model::GuestStatus>())),
        ("guest config", read(typed::<model::GuestConfig>())),
        ("guest pending", read(typed::<Vec<model::PendingChange>>())),
        ("guest ip", read(objects("network interfaces: `name`, `hardware-address`, `ip-addresses` (each with a `scope`)"))),
        ("guest agent", read(Out::Passthrough)),
        ("guest diagnose", read(typed::<crate::workflow::Diagnosis>())),
        ("guest set", varies(Destructive, "change when it sets only name, description, tags, onboot or protection=1")),
        (
            "guest file pull",
            read(Out::Shape(json!({"description": "qemu: `{src, dst, bytes}`; lxc: the report of `pct pull` on the node"}))),
        ),
        ("snapshot list", read(typed::<Vec<model::Snapshot>>())),
        ("task list", read(typed::<Vec<model::Task>>())),
        ("task status", read(typed::<model::TaskStatus>())),
        ("task wait", read(typed::<model::TaskStatus>())),
        ("task log", read(typed::<Vec<model::TaskLogLine>>())),
        ("storage list", read(typed::<Vec<model::Storage>>())),
        ("storage content", read(typed::<Vec<model::StorageVolume>>())),
        ("backup list", read(typed::<Vec<model::Backup>>())),
        ("backup jobs", read(typed::<Vec<model::BackupJob>>())),
        ("backup missing", read(typed::<Vec<model::NotBackedUp>>())),
        ("backup restore", varies(Destructive, "change when restoring to a new vmid (without --force)")),
        ("pool list", read(typed::<Vec<model::Pool>>())),
        ("pool show", read(typed::<model::Pool>())),
        ("ha status", read(typed::<Vec<model::HaStatus>>())),
        ("ha resources", read(typed::<Vec<model::HaResource>>())),
        ("api get", read(Out::Passthrough)),
        (
            "api create",
            Spec {
                out: Out::RawWrite,
                ..varies(Destructive, "the tier of the API route it matches: a guest action path has that action's tier")
            },
        ),
        ("api set", Spec { out: Out::RawWrite, ..action(Destructive) }),
        ("api delete", Spec { out: Out::RawWrite, ..action(Destructive) }),
        ("api usage", local(typed::<Vec<super::api::MethodUsage>>())),
        ("api ls", local(typed::<Vec<super::api::ApiChild>>())),
        ("doctor", read(object("`{target, checks: [{check, result, detail}], privileges}`"))),
        ("check", read(typed::<crate::checks::Report>())),
        ("policy show", local(object("`{sources, builtin, rules, consent}`: the effective policy of the selected target"))),
        ("audit show", local(objects("audit records, oldest first"))),
        ("audit verify", local(object("`{path, records, intact, first_break, open_intents}`"))),
        ("target list", local(objects("the config file's targets"))),
        ("target show", local(object("one target's settings, secrets shown only by their source"))),
        ("target test", local(object("reachability, PVE version and nodes of the named target"))),
        ("config init", local(object("`{written}`: the path of the new config file"))),
        (
            "schema",
            local(Out::Shape(json!({"type": "object", "required": ["commands", "exit_codes", "$defs"], "description": "this document"}))),
        ),
    ];
    t.extend(local_tools());
    t.extend(servers());
    for (tier, paths) in [
        (Change, &["guest start", "guest resume", "guest clone", "guest create", "snapshot create", "backup create"][..]),
        (Disruptive, &["guest shutdown", "guest reboot", "guest suspend", "guest migrate"][..]),
        (
            Destructive,
            &[
                "guest stop",
                "guest reset",
                "guest template",
                "guest delete",
                "guest unlock",
                "guest resize",
                "guest move-disk",
                "guest exec",
                "guest file push",
                "snapshot rollback",
                "snapshot delete",
                "backup delete",
            ][..],
        ),
    ] {
        t.extend(paths.iter().map(|p| (*p, action(tier))));
    }
    t
}

fn spec(path: &str) -> Option<Spec> {
    table().into_iter().find(|(p, _)| *p == path).map(|(_, s)| s)
}

/// The result of an action on one of several guests (`guest start --tag web`), as the CLI
/// prints it in an array.
#[derive(Serialize, JsonSchema)]
struct GuestResult {
    /// The guest's vmid.
    guest: model::Vmid,
    /// Its node.
    node: Option<String>,
    /// Whether this guest's part succeeded.
    ok: bool,
    /// What was done.
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<crate::workflow::Report>,
    /// What would be done (`--dry-run`), or what was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<crate::workflow::Plan>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorInfo>,
}

/// An error as JSON output carries it.
#[derive(Serialize, JsonSchema)]
struct ErrorInfo {
    /// Machine-readable kind (`not_found`, `conflict`, ...).
    kind: String,
    /// The message.
    message: String,
    /// What to do about it.
    hint: Option<String>,
    /// The exit code it maps to.
    exit_code: i32,
}

/// A plan printed as data: `--dry-run`, or a gated action without consent (exit 3).
#[derive(Serialize, JsonSchema)]
struct PlanDocument {
    /// The plan.
    plan: crate::workflow::Plan,
}

fn out_schema(out: &Out, g: &mut SchemaGenerator) -> Schema {
    match out {
        Out::Typed(f) => f(g),
        Out::Action => {
            let (report, plan, many) =
                (g.subschema_for::<crate::workflow::Report>(), g.subschema_for::<PlanDocument>(), g.subschema_for::<Vec<GuestResult>>());
            json_schema!({
                "description": "The report of what was done; with --dry-run (or a gated action without consent, exit 3) `{plan}`; for several guests one result each.",
                "anyOf": [report, plan, many]
            })
        }
        Out::RawWrite => {
            let (report, plan) = (g.subschema_for::<crate::workflow::Report>(), g.subschema_for::<PlanDocument>());
            json_schema!({
                "description": "The report of the write, or its plan (--dry-run, exit 3); PVE's answer as it came (any JSON value) when the write started no task.",
                "anyOf": [report, plan, {"description": "PVE's answer"}]
            })
        }
        Out::Shape(v) => Schema::try_from(v.clone()).unwrap_or_default(),
        Out::Passthrough => json_schema!({"description": "PVE's answer passed through as it came: any JSON value"}),
    }
}

fn generator() -> SchemaGenerator {
    // The schema of what is printed: a field skipped when empty is optional, a `None` printed
    // as `null` is nullable.
    SchemaSettings::draft2020_12().for_serialize().into_generator()
}

/// Every leaf command of clap's tree, as `(path, clap command)`; `help` left out.
fn leaves() -> Vec<(Vec<String>, clap::Command)> {
    fn walk(prefix: &[String], cmd: &clap::Command, out: &mut Vec<(Vec<String>, clap::Command)>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            if sub.has_subcommands() {
                walk(&path, sub, out);
            } else {
                out.push((path, sub.clone()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&[], &Cli::command(), &mut out);
    out
}

/// The paths of every leaf command clap knows (`["guest", "stop"]`).
pub fn clap_paths() -> Vec<Vec<String>> {
    leaves().into_iter().map(|(p, _)| p).collect()
}

/// Every command path the catalog's table names (`"guest stop"`), whether or not clap has
/// it: for the test that the two agree both ways.
pub fn catalog_paths() -> Vec<&'static str> {
    table().into_iter().map(|(p, _)| p).collect()
}

fn build(g: &mut SchemaGenerator) -> Vec<CommandInfo> {
    leaves()
        .into_iter()
        .filter_map(|(path, cmd)| {
            let s = spec(&path.join(" "))?;
            let (args, options): (Vec<&clap::Arg>, Vec<&clap::Arg>) =
                cmd.get_arguments().filter(|a| !a.is_global_set() && !a.is_hide_set()).partition(|a| a.is_positional());
            Some(CommandInfo {
                about: cmd.get_long_about().or_else(|| cmd.get_about()).map(ToString::to_string).unwrap_or_default(),
                args: args.into_iter().map(ArgInfo::from_clap).collect(),
                options: options.into_iter().map(ArgInfo::from_clap).collect(),
                tier: s.tier,
                tier_note: s.tier_note,
                mutates: s.mutates,
                needs_target: s.needs_target,
                output: out_schema(&s.out, g).to_value(),
                path,
            })
        })
        .collect()
}

/// Every command clap knows that the catalog describes, in clap's order.
pub fn catalog() -> Vec<CommandInfo> {
    build(&mut generator())
}

/// The JSON Schema of the `-o json` output of the command at `path` (`["guest", "list"]`),
/// standing alone (its definitions under `$defs`); `None` for an unknown command.
pub fn output_schema(path: &[&str]) -> Option<Value> {
    let s = spec(&path.join(" "))?;
    let mut g = generator();
    let mut v = out_schema(&s.out, &mut g).to_value();
    let defs = g.take_definitions(true);
    if let Value::Object(m) = &mut v {
        m.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
        m.insert("$defs".into(), Value::Object(defs));
    }
    Some(v)
}

/// The document `pvectl schema` prints: `{name, version, global_options, exit_codes,
/// commands, $defs}`. Each command's `output` refers into `$defs`.
pub fn schema_document() -> Value {
    let mut g = generator();
    let commands = build(&mut g);
    let defs = g.take_definitions(true);
    let root = Cli::command();
    let globals: Vec<ArgInfo> = root.get_arguments().filter(|a| a.is_global_set() && !a.is_hide_set()).map(ArgInfo::from_clap).collect();
    let codes: Vec<Value> =
        exit_codes::ALL.into_iter().map(|(code, kind, meaning)| json!({"code": code, "kind": kind, "meaning": meaning})).collect();
    json!({
        "name": root.get_name(),
        "version": env!("CARGO_PKG_VERSION"),
        "about": "pvectl's commands: arguments and options (from clap), tier, whether each mutates, the JSON Schema of its -o json output, and the exit codes",
        "tiers": ["read", "change", "disruptive", "destructive"],
        "global_options": globals,
        "exit_codes": codes,
        "commands": commands,
        "$defs": defs,
    })
}

/// Prints [`schema_document`] as JSON (whatever `-o` says: it is a document for programs);
/// returns the exit code.
pub(crate) fn print_schema() -> i32 {
    match super::output::print(super::args::OutputFormat::Json, &schema_document(), |_| super::output::Table::default()) {
        Ok(()) => exit_codes::OK,
        Err(e) => {
            super::output::print_error(super::args::OutputFormat::Table, &e, false);
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in `v`.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_of_the_document_resolves() {
        let doc = schema_document();
        let mut all = Vec::new();
        refs(&doc["commands"], &mut all);
        refs(&doc["$defs"], &mut all);
        assert!(all.len() > 20, "{}", all.len());
        for r in all {
            let name = r.strip_prefix("#/$defs/").unwrap_or_else(|| panic!("a reference outside $defs: {r}"));
            assert!(doc["$defs"].get(name).is_some(), "{r} is not defined");
        }
    }

    #[test]
    fn a_standalone_output_schema_carries_its_definitions() {
        let s = output_schema(&["guest", "list"]).expect("known");
        assert_eq!(s["items"]["$ref"], "#/$defs/Guest");
        assert!(s["$defs"]["Guest"]["properties"]["vmid"].is_object());
        assert!(output_schema(&["guest", "frobnicate"]).is_none());
        let stop = catalog().into_iter().find(|c| c.path == ["guest", "move-disk"]).expect("move-disk");
        assert_eq!((stop.tool_name(), stop.tier), ("guest_move_disk".to_owned(), Tier::Destructive));
    }
}
