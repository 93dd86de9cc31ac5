//! `orgpulse orgs add|list|remove`: the tracked organisations, kept in the store.

use std::process::ExitCode;

use clap::Subcommand;

use super::App;
use crate::domain::OrgId;

#[derive(Debug, Subcommand)]
pub(crate) enum OrgsCommand {
    /// Start tracking an organisation (FORGE:PATH, e.g. github:rust-lang,
    /// gitlab:gitlab-org/ci-cd, codeberg:forgejo).
    Add {
        /// Checked against the configured forges when the command runs.
        #[arg(value_name = "ID")]
        id: String,
    },
    /// List the tracked organisations and how their last refresh went.
    List,
    /// Stop tracking an organisation; its data is kept unless --purge is given.
    Remove {
        #[arg(value_name = "ID")]
        id: OrgId,
        /// Also delete everything stored about it (repositories, history, caches).
        #[arg(long)]
        purge: bool,
    },
}

pub(crate) async fn run(app: &App, command: OrgsCommand) -> anyhow::Result<ExitCode> {
    match command {
        OrgsCommand::Add { id } => {
            let id = app.settings.forges.parse(&id)?;
            if app.store.add_tracked_org(&id, chrono::Utc::now()).await? {
                println!("now tracking {id}; it is fetched on the next refresh (`orgpulse refresh --org {id}` to fetch it now)");
            } else {
                println!("{id} is already tracked");
            }
        }
        OrgsCommand::List => {
            let tracked = app.store.list_tracked_orgs().await?;
            if tracked.is_empty() {
                println!(
                    "no organisations are tracked; add one with `orgpulse orgs add github:NAME`"
                );
            }
            for t in tracked {
                let last = match &t.last_outcome {
                    Some(o) => format!(
                        "{} at {}{}",
                        o.status,
                        o.finished_at.format("%Y-%m-%d %H:%M UTC"),
                        o.message
                            .as_ref()
                            .map(|m| format!(" ({m})"))
                            .unwrap_or_default()
                    ),
                    None => "never refreshed".into(),
                };
                println!(
                    "{:<32} added {}  last refresh: {last}",
                    t.org.to_string(),
                    t.added_at.format("%Y-%m-%d")
                );
            }
        }
        OrgsCommand::Remove { id, purge } => {
            let removed = app.store.remove_tracked_org(&id, purge).await?;
            match (removed, purge) {
                (true, false) => {
                    println!("stopped tracking {id}; its data is kept (use --purge to delete it)")
                }
                (true, true) => println!("stopped tracking {id} and deleted its data"),
                (false, true) => {
                    println!("{id} was not tracked; any data stored about it was deleted")
                }
                (false, false) => {
                    eprintln!("{id} is not tracked");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
