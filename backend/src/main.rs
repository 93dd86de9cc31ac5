//! The `orgpulse` binary: parse the command line and dispatch.

use std::process::ExitCode;

fn main() -> ExitCode {
    orgpulse::cli::main()
}
