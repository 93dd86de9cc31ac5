//! `orgpulse token create|list|revoke`: API tokens for the routes that change things.
//! A secret is printed once, alone on stdout (so `TOKEN=$(orgpulse token create ci)`
//! works); only its SHA-256 is stored.

use std::process::ExitCode;

use anyhow::bail;
use chrono::{Duration, Utc};
use clap::Subcommand;

use super::App;
use crate::domain::{validate_token_name, TokenRecord, TokenSecret};

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token; its secret is printed once.
    Create {
        /// A name to recognise it by (letters, digits, `.`, `_`, `-`).
        name: String,
        /// Days until it expires (0: never).
        #[arg(long, default_value_t = 180)]
        expires_in_days: u32,
    },
    /// List tokens: name, created, expires, last used.
    List,
    /// Revoke a token: it stops working at once.
    Revoke { name: String },
}

pub(crate) async fn run(app: &App, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let store = &app.store;
    match command {
        TokenCommand::Create {
            name,
            expires_in_days,
        } => {
            if let Err(reason) = validate_token_name(&name) {
                bail!("{reason}");
            }
            let secret = TokenSecret::generate();
            let now = Utc::now();
            let expires_at =
                (expires_in_days > 0).then(|| now + Duration::days(i64::from(expires_in_days)));
            let record = TokenRecord {
                name: name.clone(),
                hash: secret.hash(),
                created_at: now,
                expires_at,
                last_used_at: None,
            };
            if !store.insert_token(&record).await? {
                bail!(
                    "a token named `{name}` exists already; revoke it first or pick another name"
                );
            }
            let until = expires_at.map_or_else(
                || "never expires".to_owned(),
                |e| format!("valid until {}", e.format("%Y-%m-%d")),
            );
            eprintln!("created token `{name}` ({until}). Its secret is shown only this once; keep it safe:");
            println!("{}", secret.expose());
            eprintln!("use it as the header `Authorization: Bearer <secret>`");
        }
        TokenCommand::List => {
            let tokens = store.list_tokens().await?;
            if tokens.is_empty() {
                eprintln!("no tokens; create one with `orgpulse token create NAME`");
            }
            let now = Utc::now();
            for t in tokens {
                let expires = match t.expires_at {
                    Some(e) if e <= now => format!("EXPIRED {}", e.format("%Y-%m-%d")),
                    Some(e) => format!("expires {}", e.format("%Y-%m-%d")),
                    None => "never expires".into(),
                };
                let used = t.last_used_at.map_or_else(
                    || "never used".to_owned(),
                    |u| format!("last used {}", u.format("%Y-%m-%d %H:%M UTC")),
                );
                println!(
                    "{:<24} created {}  {expires:<20} {used}",
                    t.name,
                    t.created_at.format("%Y-%m-%d")
                );
            }
        }
        TokenCommand::Revoke { name } => {
            if store.revoke_token(&name).await? {
                eprintln!("revoked token `{name}`; it no longer works");
            } else {
                eprintln!("there is no token named `{name}`");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
