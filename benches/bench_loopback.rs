//! `cargo bench`: ringftpd started in-process on 127.0.0.1 (temp root, port 0),
//! driven by the load generator's library; prints throughput and latency
//! percentiles for a single 256 MiB stream, 16 parallel streams and 2000
//! small files over 20 reused sessions.

use std::sync::Arc;

use clap::Parser;
use ringftpd::bench::cli::Cli;
use ringftpd::bench::plan::Plan;
use ringftpd::bench::{report, run};
use ringftpd::server::{self, Args, ServerConfig};

fn main() {
    let root =
        std::env::temp_dir().join(format!("ringftp-bench-cargo-bench-{}", std::process::id()));
    std::fs::create_dir_all(root.join("small")).expect("temp root");
    let mut big = vec![0u8; 256 << 20];
    ringftpd::bench::verify::fill_pattern(0, 0, &mut big);
    std::fs::write(root.join("big.bin"), &big).expect("write big.bin");
    for k in 0..100 {
        std::fs::write(root.join(format!("small/f{k:03}")), &big[..4096]).expect("write small");
    }
    let root_s = root.to_str().expect("utf-8 temp path");
    let args = Args::parse_from([
        "ringftpd",
        "--root",
        root_s,
        // A load test comes from one address: per-address limits and
        // command pacing off (docs/security.md).
        "--sessions-per-ip-max",
        "0",
        "--connections-per-ip-per-sec-max",
        "0",
        "--commands-per-sec-max",
        "0",
        "--listen",
        "127.0.0.1:0",
        "--pasv-ports",
        "30300-30999",
    ]);
    let srv = server::start(ServerConfig::from_args(args).expect("config"))
        .unwrap_or_else(|e| panic!("ringftpd: {e}"));
    let addr = srv.addrs[0].to_string();
    let workloads: [&[&str]; 4] = [
        &[
            "--files", "big.bin", "--count", "8", "--reuse", "--sink", "splice",
        ],
        &[
            "--files",
            "big.bin",
            "--count",
            "4",
            "--reuse",
            "--verify",
            "--expect",
            "pattern:0",
        ],
        &[
            "--files",
            "big.bin",
            "--count",
            "32",
            "--sessions",
            "16",
            "--sink",
            "splice",
        ],
        &[
            "--files",
            "small/f{000..099}",
            "--count",
            "2000",
            "--sessions",
            "20",
            "--reuse",
        ],
    ];
    for w in workloads {
        let mut argv = vec!["ringftp-bench", "--quiet", "--server", &addr];
        argv.extend_from_slice(w);
        let cli = Cli::parse_from(argv.iter().copied());
        let plan = Arc::new(Plan::from_cli(&cli).expect("plan"));
        let outcome = run::run(plan, true, None).expect("run");
        println!("$ {}", argv[1..].join(" "));
        print!("{}", report::table(&cli, &outcome));
    }
    srv.stop();
    let _ = std::fs::remove_dir_all(&root);
}
