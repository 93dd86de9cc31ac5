//! A baseline for bench/web.sh: Rocket's own FileServer serving a folder, with the same
//! runtime and settings as `orgpulse serve`, so the benchmark can tell the framework's
//! cost of sending bytes from orgpulse's cost of answering.
//!
//! usage: static_server DIR PORT

use rocket::fs::FileServer;

#[rocket::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, port] = args.as_slice() else {
        anyhow::bail!("usage: static_server DIR PORT");
    };
    let port: u16 = port.parse()?;
    let config = orgpulse::web::rocket_config().merge(("port", port));
    let _ = rocket::custom(config)
        .mount("/", FileServer::from(dir.as_str()))
        .launch()
        .await?;
    Ok(())
}
