//! GitHub App authentication end to end against fakeforge, which verifies the App's JWT
//! with its public key: installation found per organisation, an installation token for
//! REST and GraphQL alike, and the ways it goes wrong (not installed, a key that is not
//! the App's, a key that cannot be read) failing only the organisation concerned, with a
//! message that names the setting and never a secret.

use std::sync::Arc;

use crate::common::*;
use orgpulse::domain::{AppCredentials, OrgStatus, Secret};
use orgpulse::ingest::IngestContext;
use orgpulse::store::Store;

const CLIENT_ID: &str = "Iv1.0rgpu1se";

/// Two organisations; the App is installed on the first only.
async fn forge(public_key_pem: String) -> fakeforge::Running {
    let config = fakeforge::ForgeConfig {
        world: fakeforge::WorldConfig {
            orgs: 2,
            repos: 120,
            seed: 21,
            changed_per_day: 0.02,
        },
        ..fakeforge::ForgeConfig::default()
    };
    let first = fakeforge::World::new(config.world.clone()).orgs[0]
        .login
        .clone();
    fakeforge::start(fakeforge::ForgeConfig {
        app: Some(fakeforge::app::AppConfig {
            client_id: CLIENT_ID.into(),
            public_key_pem,
            installed_on: Some(vec![first]),
        }),
        ..config
    })
    .await
    .expect("fakeforge starts")
}

fn ctx(
    store: Arc<dyn Store>,
    forge: &fakeforge::Running,
    key: Result<Secret, String>,
) -> IngestContext {
    let mut ctx = context_at(store, &forge.url);
    ctx.options.languages = true;
    ctx.forges[0].app = Some(AppCredentials {
        app_id: CLIENT_ID.into(),
        private_key: key,
        installation_id: None,
    });
    ctx
}

fn logins(forge: &fakeforge::Running) -> (String, String) {
    let orgs = &forge.forge.world().orgs;
    (
        format!("github:{}", orgs[0].login),
        format!("github:{}", orgs[1].login),
    )
}

#[tokio::test]
async fn an_app_reads_each_installed_organisation_with_its_installation_token() {
    let (private, public) = fakeforge::app::key_pair();
    let forge = forge(public).await;
    let (installed, elsewhere) = logins(&forge);
    let (_db, store) = sqlite_store().await;
    let run = refresh(
        &ctx(store.clone(), &forge, Ok(Secret::new(&private))),
        &[&installed, &elsewhere],
    )
    .await;

    let outcome = |id: &str| {
        run.outcomes
            .iter()
            .find(|o| o.org.to_string() == id)
            .expect("outcome")
    };
    assert_eq!(
        outcome(&installed).status,
        OrgStatus::Ok,
        "{:?}",
        run.outcomes
    );
    let repos = store.list_repos(&org(&installed)).await.expect("repos");
    assert!(!repos.is_empty());
    assert!(
        repos.iter().all(|r| r.details.is_some()),
        "GraphQL took the installation token"
    );
    let other = outcome(&elsewhere);
    assert_eq!(other.status, OrgStatus::Failed, "{other:?}");
    let message = other.message.as_deref().expect("why");
    assert!(message.contains("not installed"), "{message}");
    assert!(!message.contains("BEGIN"), "no key material: {message}");

    let counters = forge.forge.counters();
    assert_eq!(counters.get("app installation 200"), Some(&1));
    assert_eq!(counters.get("app installation 404"), Some(&1));
    assert_eq!(
        counters.get("app token 201"),
        Some(&1),
        "one token for the run"
    );
    assert!(
        counters.get("auth installation 200").copied().unwrap_or(0) >= 2,
        "REST and GraphQL carried the installation token: {counters:?}"
    );
}

#[tokio::test]
async fn a_key_that_is_not_the_apps_or_cannot_be_read_fails_each_organisation_clearly() {
    let (_, public) = fakeforge::app::key_pair();
    let forge = forge(public).await;
    let (installed, _) = logins(&forge);
    let (wrong, _) = fakeforge::app::key_pair();
    for (key, expected) in [
        (Ok(Secret::new(&wrong)), "refused the App's JWT"),
        (
            Err(
                "ORGPULSE_GITHUB_APP_PRIVATE_KEY_FILE (/nowhere.pem) cannot be read: No such file"
                    .to_owned(),
            ),
            "ORGPULSE_GITHUB_APP_PRIVATE_KEY_FILE",
        ),
        (
            Ok(Secret::new("not a key")),
            "does not hold an RSA private key",
        ),
    ] {
        let (_db, store) = sqlite_store().await;
        let run = refresh(&ctx(store.clone(), &forge, key), &[&installed]).await;
        let outcome = &run.outcomes[0];
        assert_eq!(outcome.status, OrgStatus::Failed, "{outcome:?}");
        let message = outcome.message.as_deref().expect("why");
        assert!(message.contains(expected), "{message}");
        assert!(store
            .list_repos(&org(&installed))
            .await
            .expect("repos")
            .is_empty());
    }
}
