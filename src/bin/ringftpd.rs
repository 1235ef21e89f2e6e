//! `ringftpd`: the server binary. With no options it serves the current
//! directory anonymously, read-only, on 127.0.0.1:2121.

use clap::Parser;
use ringftpd::server::{self, Args, ServerConfig, StartError};

fn main() {
    let mut argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("passwd") {
        argv.remove(1);
        std::process::exit(passwd(&argv[1..]));
    }
    let args = match Args::try_parse_from(&argv) {
        Ok(a) => a,
        Err(e) if e.use_stderr() => {
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("bad arguments");
            eprintln!("ringftpd: {first} (see ringftpd --help)");
            std::process::exit(2);
        }
        Err(e) => {
            let _ = e.print();
            std::process::exit(0);
        }
    };
    let cfg = match ServerConfig::from_args(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ringftpd: {e}");
            std::process::exit(2);
        }
    };
    if let Some(w) = cfg.ephemeral_overlap_warning() {
        eprintln!("ringftpd: {w}");
    }
    ringftpd::engine::alloc::return_large_blocks_to_the_kernel();
    let sigs = server::block_signals();
    let (workers, root, pasv, retr) = (
        cfg.workers,
        cfg.root.clone(),
        cfg.args.pasv_ports,
        cfg.args.retr_path,
    );
    let running = match server::start(cfg) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ringftpd: {e}");
            std::process::exit(if matches!(e, StartError::Config(_)) {
                2
            } else {
                1
            });
        }
    };
    let addrs: Vec<String> = running.addrs.iter().map(|a| a.to_string()).collect();
    println!(
        "ringftpd listening on {} root {} workers {} passive {}-{} retr-path {:?}",
        addrs.join(","),
        root.display(),
        workers,
        pasv.0,
        pasv.1,
        retr
    );
    server::serve_until_signal(running, &sigs);
}

/// `ringftpd passwd`: reads a password from stdin, prints its argon2id hash.
fn passwd(rest: &[String]) -> i32 {
    if !rest.is_empty() {
        eprintln!("usage: ringftpd passwd < password-file   (prints an argon2id hash)");
        return 2;
    }
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err()
        || line.trim_end_matches(['\r', '\n']).is_empty()
    {
        eprintln!("ringftpd passwd: no password on standard input");
        return 2;
    }
    println!(
        "{}",
        ringftpd::auth::hash_password(line.trim_end_matches(['\r', '\n']))
    );
    0
}
