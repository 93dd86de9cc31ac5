//! orgpulse: keeps an up-to-date, historical picture of organisations on code forges.
//!
//! Data flows one way: `sources` (forge clients) → `ingest` (refresh runs) → `store`,
//! with the CLI (and later the scheduler) calling `ingest`, and `web` reading the `store`. `domain` holds the types they share.

pub mod cli;
pub mod config;
pub mod domain;
pub mod ingest;
pub mod metrics;
pub mod sources;
pub mod store;
pub mod web;
pub mod webhooks;
