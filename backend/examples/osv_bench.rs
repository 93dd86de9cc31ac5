//! The vulnerability check at scale: organisations whose stored SBOMs list 50,000
//! distinct package versions (default), checked against fakeforge's OSV stand-in in this
//! process. Prints the requests, time and memory of the first check (every advisory
//! fetched) and of an unchanged second one (the same batches, no advisory), against a
//! baseline measured in the same run: the same querybatch requests sent straight to the
//! stand-in, without orgpulse (what OSV itself costs).
//!
//! Then, with `--export-records N`, the same check offline (`ORGPULSE_OSV_DATA_DIR`):
//! the stand-in's records written as OSV's exports, each ecosystem's padded with N
//! records about other packages (as a real export is mostly about packages nobody here
//! uses), against the online check of the same run.
//!
//! usage: osv_bench [--packages N] [--orgs N] [--repos N] [--per-repo N] [--export-records N]

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use clap::Parser;
use orgpulse::domain::vulnerabilities::PackageVersion;
use orgpulse::domain::{Library, OrgId};
use orgpulse::ingest::{check_vulnerabilities, ForgeAccess, IngestContext, SecurityOptions};
use orgpulse::sources::HttpPolicy;
use orgpulse::store::RepoLibraries;
use support::{commit_on, records};

mod support;

#[derive(Debug, Parser)]
struct Args {
    /// Distinct package versions across every organisation.
    #[arg(long, default_value_t = 50_000)]
    packages: usize,
    #[arg(long, default_value_t = 5)]
    orgs: usize,
    /// Repositories per organisation.
    #[arg(long, default_value_t = 400)]
    repos: usize,
    /// Libraries per repository (packages are shared between repositories).
    #[arg(long, default_value_t = 50)]
    per_repo: usize,
    /// Records about other packages in each ecosystem's offline export (0: no offline run).
    #[arg(long, default_value_t = 10_000)]
    export_records: usize,
}

/// The stand-in's records as OSV's exports under `dir` (`{Ecosystem}/all.zip`), each
/// padded with `filler` records about packages no repository here uses; the bytes written.
fn write_exports(dir: &std::path::Path, filler: usize) -> anyhow::Result<u64> {
    use std::io::Write;
    let mut by_ecosystem: std::collections::BTreeMap<String, Vec<serde_json::Value>> =
        Default::default();
    for record in fakeforge::osv::records(&Default::default()) {
        let ecosystem = record["affected"][0]["package"]["ecosystem"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        by_ecosystem.entry(ecosystem).or_default().push(record);
    }
    let mut bytes = 0;
    for (ecosystem, mut records) in by_ecosystem {
        for i in 0..filler {
            records.push(serde_json::json!({
                "id": format!("FILL-{ecosystem}-{i}"), "modified": "2025-06-01T00:00:00Z",
                "summary": "A vulnerability in a package nobody here uses",
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
                "affected": [{"package": {"ecosystem": ecosystem, "name": format!("unused-{i}")},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]}]
            }));
        }
        std::fs::create_dir_all(dir.join(&ecosystem))?;
        let path = dir.join(&ecosystem).join("all.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path)?);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for record in records {
            zip.start_file(
                format!("{}.json", record["id"].as_str().unwrap_or("x")),
                options,
            )?;
            zip.write_all(record.to_string().as_bytes())?;
        }
        zip.finish()?;
        bytes += std::fs::metadata(&path)?.len();
    }
    Ok(bytes)
}

/// Package `k` of the pool: one in ten a library the stand-in has advisories for (at a
/// version spread over its ranges), the rest packages it knows nothing about.
fn package(k: usize, known: &[(&'static str, &'static str)]) -> Library {
    let (ecosystem, name, version) = if k.is_multiple_of(10) {
        let (ecosystem, name) = known[(k / 10) % known.len()];
        let n = k / 10 / known.len();
        (
            ecosystem.to_owned(),
            name.to_owned(),
            format!("{}.{}.{}", 1 + n % 3, (n / 3) % 20, n / 60),
        )
    } else {
        let ecosystem = ["npm", "pypi", "cargo", "maven", "golang"][k % 5];
        let name = match ecosystem {
            "maven" => format!("org.example{}/artifact-{k}", k % 97),
            "golang" => format!("github.com/example{}/module-{k}", k % 89),
            _ => format!("package-{k}"),
        };
        (
            ecosystem.to_owned(),
            name,
            format!("1.{}.{}", k % 30, k % 7),
        )
    };
    Library {
        ecosystem,
        name,
        version: Some(version),
        license: Some("MIT".into()),
    }
}

/// Peak and current resident memory of this process, in MiB (Linux).
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn counter(forge: &fakeforge::Running, name: &str) -> u64 {
    forge.forge.counters().get(name).copied().unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let forge = fakeforge::start(fakeforge::ForgeConfig::default()).await?;
    // OSV pages a query's results by the thousand: no follow-ups at this scale.
    forge.forge.osv(|s| s.page = 1_000);
    let dir = tempfile::tempdir()?;
    let store = orgpulse::store::open(
        &format!("sqlite://{}", dir.path().join("bench.db").display()),
        Default::default(),
    )
    .await?;

    let known: Vec<(&str, &str)> = fakeforge::world::all_libraries()
        .into_iter()
        .filter(|(e, _)| *e != "generic")
        .collect();
    let pool: Vec<Library> = (0..args.packages).map(|k| package(k, &known)).collect();
    let mut orgs = Vec::new();
    let mut slot = 0usize;
    let now = Utc::now();
    for o in 0..args.orgs {
        let org: OrgId = format!("github:bench-{o}").parse()?;
        let repos = records(&org, args.repos, (o * args.repos) as i64 + 1);
        let mut commit = commit_on(&org, now, &repos, repos.clone());
        commit.libraries = repos
            .iter()
            .map(|r| RepoLibraries {
                repo_id: r.listing.id,
                libraries: (0..args.per_repo)
                    .map(|_| {
                        slot += 1;
                        pool[(slot * 7_919) % pool.len()].clone()
                    })
                    .collect(),
            })
            .collect();
        store.commit_org_refresh(&commit).await?;
        orgs.push(org);
    }
    let distinct: std::collections::BTreeSet<PackageVersion> = {
        let mut all = std::collections::BTreeSet::new();
        for org in &orgs {
            for (_, l) in store.org_libraries(org).await? {
                all.extend(PackageVersion::of(&l));
            }
        }
        all
    };
    let entries = orgs.len() * args.repos * args.per_repo;
    println!(
        "{} organisations, {} repositories, {entries} library entries, {} distinct package versions",
        orgs.len(),
        orgs.len() * args.repos,
        distinct.len()
    );

    // The baseline: the same batches straight to the stand-in.
    let client = reqwest::Client::new();
    let url = format!("{}/osv/v1/querybatch", forge.url);
    let packages: Vec<&PackageVersion> = distinct.iter().collect();
    let started = Instant::now();
    for chunk in packages.chunks(1_000) {
        let queries: Vec<_> = chunk
            .iter()
            .map(|p| serde_json::json!({"package": {"purl": p.purl()}}))
            .collect();
        let answer = client
            .post(&url)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(
                &serde_json::json!({ "queries": queries }),
            )?)
            .send()
            .await?;
        anyhow::ensure!(answer.status().is_success(), "the stand-in refused a batch");
        answer.bytes().await?;
    }
    let baseline = started.elapsed();
    forge.forge.reset_counters();

    let ctx = IngestContext {
        security: SecurityOptions {
            osv_url: Some(format!("{}/osv", forge.url)),
            osv_data_dir: None,
            scorecard_url: None,
            osv_policy: HttpPolicy {
                concurrency: 8,
                ..HttpPolicy::default()
            },
        },
        ..IngestContext {
            store: store.clone(),
            forges: vec![ForgeAccess::github(&forge.url)],
            http: HttpPolicy::default(),
            options: orgpulse::domain::RunOptions {
                languages: false,
                libraries: false,
            },
            org_parallelism: 4,
            clock: orgpulse::ingest::Clock::system(),
            cancel: Default::default(),
            metrics: Arc::default(),
            activity: Default::default(),
            security: Default::default(),
        }
    };
    let (_, before) = memory();
    println!(
        "baseline: {} querybatch requests straight to the stand-in: {:.2} s",
        packages.len().div_ceil(1_000),
        baseline.as_secs_f64()
    );
    let mut online = std::time::Duration::ZERO;
    for (label, _) in [("first check", ()), ("unchanged second check", ())] {
        forge.forge.reset_counters();
        let started = Instant::now();
        let report = check_vulnerabilities(&ctx, &orgs)
            .await
            .expect("the check is on");
        let took = started.elapsed();
        anyhow::ensure!(report.note.is_none(), "incomplete: {:?}", report.note);
        let findings: usize = {
            let mut n = 0;
            for org in &orgs {
                n += store.findings(org, None).await?.len();
            }
            n
        };
        let (peak, _) = memory();
        println!(
            "{label}: {} packages, {} querybatch + {} advisory requests, {:.2} s ({:.1}× the baseline), {findings} findings; peak RSS {peak:.0} MiB ({before:.0} MiB before the checks)",
            report.packages,
            counter(&forge, "osv querybatch 200"),
            counter(&forge, "osv vulns 200"),
            took.as_secs_f64(),
            took.as_secs_f64() / baseline.as_secs_f64(),
        );
        online = took;
    }
    if args.export_records == 0 {
        return Ok(());
    }
    let exports = tempfile::tempdir()?;
    let bytes = write_exports(exports.path(), args.export_records)?;
    let offline = IngestContext {
        security: SecurityOptions {
            osv_url: None,
            osv_data_dir: Some(exports.path().to_owned()),
            ..ctx.security.clone()
        },
        ..ctx.clone()
    };
    let before_findings = {
        let mut all = Vec::new();
        for org in &orgs {
            all.extend(store.findings(org, None).await?);
        }
        all.len()
    };
    forge.forge.reset_counters();
    let started = Instant::now();
    let report = check_vulnerabilities(&offline, &orgs)
        .await
        .expect("the check is on");
    let took = started.elapsed();
    anyhow::ensure!(report.note.is_none(), "incomplete: {:?}", report.note);
    let mut findings = 0;
    for org in &orgs {
        findings += store.findings(org, None).await?.len();
    }
    let (peak, _) = memory();
    println!(
        "offline check: exports of {:.1} MiB ({} records of other packages per ecosystem), {:.2} s ({:.1}× the online unchanged check), {findings} findings (online: {before_findings}), {} API requests; peak RSS {peak:.0} MiB",
        bytes as f64 / f64::from(1u32 << 20),
        args.export_records,
        took.as_secs_f64(),
        took.as_secs_f64() / online.as_secs_f64(),
        counter(&forge, "osv querybatch 200") + counter(&forge, "osv vulns 200"),
    );
    Ok(())
}
