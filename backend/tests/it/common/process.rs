//! `orgpulse` as a real process: commands with a clean environment, and a running
//! `orgpulse serve` that is killed when dropped.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn command(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orgpulse"));
    command.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("ORGPULSE_") || key.starts_with("ROCKET_") || key == "GITHUB_TOKEN" {
            command.env_remove(key);
        }
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

pub async fn run(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Output {
    let mut command = command(dir, env, args);
    tokio::task::spawn_blocking(move || command.output().expect("runs"))
        .await
        .expect("joined")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A running `orgpulse serve`, killed when dropped; its stderr goes to a file.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub log: std::path::PathBuf,
}

impl Server {
    pub async fn start(dir: &Path, env: &[(&str, String)]) -> Server {
        let port = free_port();
        let log = dir.join(format!("serve-{port}.log"));
        let mut env = env.to_vec();
        env.push(("ROCKET_PORT", port.to_string()));
        let child = command(dir, &env, &["serve"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("starts");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        for _ in 0..200 {
            if reqwest::get(format!("{}/healthz", server.base))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not come up:\n{}", server.log_text());
    }

    pub async fn json(&self, path: &str) -> Value {
        let text = reqwest::get(format!("{}{path}", self.base))
            .await
            .expect("answers")
            .text()
            .await
            .expect("body");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no chance to clean up, as a crash or the OOM killer.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reaped");
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        let status = self.child.wait().expect("exits");
        (status, started.elapsed())
    }

    /// Polls `/api/v1/runs` until `done` accepts it.
    pub async fn wait_runs(&self, done: impl Fn(&[Value]) -> bool, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let runs = self.json("/api/v1/runs").await["runs"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if done(&runs) {
                return runs;
            }
            assert!(
                Instant::now() < deadline,
                "runs never got there: {runs:?}\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
