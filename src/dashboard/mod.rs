//! `pvectl dashboard`: a read-only web view of one target or a fleet (issue 12).
//!
//! One refresher task per target ([`refresh`]) reads the target every `--refresh` seconds
//! (one guest listing, nodes, storages, recent tasks, the cheap check sets) under the read
//! deadline and stores a [`state::TargetSnapshot`] in the shared [`state::Shared`]; pages and
//! the `/events` stream only read those snapshots, so open pages never multiply remote calls.
//! Only the guest and task pages read more on view (bounded, under the deadline). The server
//! ([`server`]) registers GET routes only: no request can reach a mutation, and every backend
//! is additionally wrapped read-only (`Guarded` with the policy ceiling `read`). With
//! `--allow-actions` ([`actions`]) the guest page offers power actions and snapshot create:
//! a plan page (tier, calls, digest), a confirm form (POST with a CSRF token) that re-plans and
//! refuses when the digest changed, then the engine's apply, audited with the face `dashboard`.

mod actions;
mod auth;
mod pages;
mod refresh;
mod server;
mod state;
mod views;

pub use server::{OpenTarget, Options, TargetSource, serve};
pub use state::{TargetData, TargetSnapshot};
