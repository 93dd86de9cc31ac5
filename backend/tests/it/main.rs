//! orgpulse's integration tests, as one binary: one link step on a two-core machine
//! instead of one per suite. Each module is a suite; filter with its name
//! (`cargo test --test it -- web::`).

#[macro_use]
mod common;

mod activity;
mod cli;
mod demo_world;
mod drills;
mod github_app;
mod ingest_forges;
mod ingest_github;
mod ingest_gitlab_graphql;
mod ingest_graphql;
mod insight;
mod licenses;
mod refresh;
mod serve;
mod store_conformance;
mod store_security;
mod vulnerabilities;
mod web;
mod webhooks;
