//! orgpulse: keeps an up-to-date, historical picture of organisations on code forges.
//!
//! Data flows one way: `sources` (forge clients) → `ingest` (refresh runs) → `store`,
//! with the CLI (and later the scheduler and web layer) calling `ingest` and reading the
//! `store`. `domain` holds the types they share.

pub mod cli;
pub mod config;
pub mod domain;
pub mod ingest;
pub mod sources;
pub mod store;
