//! `ringftp-bench`: the FTP load generator. See `ringftp-bench --help`.

use std::sync::Arc;

use clap::Parser;
use ringftpd::bench::cli::Cli;
use ringftpd::bench::plan::Plan;
use ringftpd::bench::{procs, report, run};

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let cli = Cli::parse_from(&argv);
    // Bad combinations: one line, exit 2, before any child starts.
    if let Err(e) = cli.check() {
        eprintln!("ringftp-bench: {e}");
        std::process::exit(2);
    }
    if cli.processes > 1 && cli.child_share.is_none() {
        return finish(&cli, procs::run(&cli, &argv));
    }
    let child = cli.child_share.is_some();
    let cli = procs::child_cli(&cli);
    let plan = match Plan::from_cli(&cli) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            eprintln!("ringftp-bench: {e}");
            std::process::exit(2);
        }
    };
    let outcome = run::run(plan, cli.quiet, cli.server_pid);
    if child {
        // The parent merges this child's statistics and reports.
        match outcome {
            Ok(o) => print!("{}", procs::to_wire(&o.stats)),
            Err(e) => {
                eprintln!("ringftp-bench: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    finish(&cli, outcome);
}

/// Prints the table (and the JSON file) and exits 3 when anything failed.
fn finish(cli: &Cli, outcome: Result<run::Outcome, String>) {
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ringftp-bench: {e}");
            std::process::exit(1);
        }
    };
    print!("{}", report::table(cli, &outcome));
    if let Some(path) = &cli.json {
        if let Err(e) = std::fs::write(path, report::json(cli, &outcome)) {
            eprintln!("ringftp-bench: --json {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    // Exit 3 when anything failed, so scripts notice.
    if outcome.stats.error_count() > 0 {
        std::process::exit(3);
    }
}
