//! JSON Schemas (schemars) of the model types that serialise by hand: identifiers as the
//! plain numbers and strings they print as, a guest config as an object of strings. The
//! derived types get theirs from `#[derive(schemars::JsonSchema)]`; together they describe
//! every `-o json` document (`pvectl schema`).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::{ExitStatus, GuestConfig, NodeName, PendingDelete, SnapshotName, StorageId, Upid, Vmid};

impl JsonSchema for Vmid {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Vmid".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "integer", "minimum": 100, "maximum": 999_999_999u32, "description": "A guest id (vmid)."})
    }
}

/// A string schema with a description, for the identifiers that print as strings.
macro_rules! string_schema {
    ($ty:ty, $name:literal, $desc:literal) => {
        impl JsonSchema for $ty {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({"type": "string", "description": $desc})
            }
        }
    };
}

string_schema!(NodeName, "NodeName", "A cluster node name.");
string_schema!(SnapshotName, "SnapshotName", "A snapshot name.");
string_schema!(StorageId, "StorageId", "A storage id.");
string_schema!(ExitStatus, "ExitStatus", "A task's exit status: `OK`, `WARNINGS: n`, or the error text.");

impl JsonSchema for Upid {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Upid".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "pattern": "^UPID:", "description": "A task id, `UPID:node:pid:pstart:starttime:type:id:user:`."})
    }
}

impl JsonSchema for PendingDelete {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "PendingDelete".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "integer", "enum": [1, 2], "description": "A pending delete: 1, or 2 for a forced one."})
    }
}

impl JsonSchema for GuestConfig {
    fn schema_name() -> Cow<'static, str> {
        "GuestConfig".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "description": "A guest's configuration as PVE gives it: each key's value as text, and the config `digest`.",
            "additionalProperties": {"type": "string"}
        })
    }
}
