//! `ringftpd`: the server binary. With no options it serves the current
//! directory anonymously, read-only, on 127.0.0.1:2121.

use std::ffi::OsString;
use std::path::Path;

use ringftpd::config::{self, Exit};
use ringftpd::server::{self, StartError};

fn main() {
    let argv: Vec<OsString> = std::env::args_os().collect();
    match argv.get(1).and_then(|a| a.to_str()) {
        Some("passwd") => std::process::exit(passwd(&argv[2..])),
        Some("check-config") => std::process::exit(check_config(&argv[2..])),
        _ => {}
    }
    let cfg = match config::server_config(&argv) {
        Ok(c) => c,
        Err(Exit::Info(text)) => {
            print!("{text}");
            std::process::exit(0);
        }
        Err(Exit::Error(e)) => {
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
    // Implicit FTPS addresses, when any, follow as `tls-implicit A,B`.
    let implicit: Vec<String> = running
        .implicit_addrs
        .iter()
        .map(|a| a.to_string())
        .collect();
    let implicit = if implicit.is_empty() {
        String::new()
    } else {
        format!(" tls-implicit {}", implicit.join(","))
    };
    let metrics = running
        .metrics_addr()
        .map(|a| format!(" metrics {a}"))
        .unwrap_or_default();
    println!(
        "ringftpd listening on {} root {} workers {} passive {}-{} retr-path {:?}{implicit}{metrics}",
        addrs.join(","),
        root.display(),
        workers,
        pasv.0,
        pasv.1,
        retr
    );
    server::serve_until_signal(running, &sigs);
}

/// `ringftpd check-config FILE [FLAGS…]`: validates, prints the effective
/// configuration (hashes elided); exit 0, or 2 with the one-line error.
fn check_config(rest: &[OsString]) -> i32 {
    let Some(file) = rest.first() else {
        eprintln!("usage: ringftpd check-config FILE [FLAGS...]   (see docs/config.md)");
        return 2;
    };
    match config::check_config(Path::new(file), &rest[1..]) {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("ringftpd: {e}");
            2
        }
    }
}

/// `ringftpd passwd`: reads a password from stdin, prints its argon2id hash.
fn passwd(rest: &[OsString]) -> i32 {
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
