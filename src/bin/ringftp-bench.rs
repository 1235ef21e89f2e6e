//! `ringftp-bench`: the FTP load generator. See `ringftp-bench --help`.

use std::sync::Arc;

use clap::Parser;
use ringftpd::bench::cli::Cli;
use ringftpd::bench::plan::Plan;
use ringftpd::bench::{report, run};

fn main() {
    let cli = Cli::parse();
    let plan = match Plan::from_cli(&cli) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            eprintln!("ringftp-bench: {e}");
            std::process::exit(2);
        }
    };
    let outcome = match run::run(plan, cli.quiet, cli.server_pid) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ringftp-bench: {e}");
            std::process::exit(1);
        }
    };
    print!("{}", report::table(&cli, &outcome));
    if let Some(path) = &cli.json {
        if let Err(e) = std::fs::write(path, report::json(&cli, &outcome)) {
            eprintln!("ringftp-bench: --json {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    // Exit 3 when anything failed, so scripts notice.
    if outcome.stats.error_count() > 0 {
        std::process::exit(3);
    }
}
