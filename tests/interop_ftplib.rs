//! Python's ftplib against the real server: STOR, RETR and LIST in PASV,
//! EPSV, PORT and EPRT, byte-exact for every size in `support::SIZES`; a named
//! user's file operations; ABOR through `FTP.abort()`.
//! The scripts live in tests/python/ and exit 1 with a message on a mismatch.

mod support;

use std::time::Duration;

use support::{
    run_python, users_file, write_pattern_file, Mode, Server, ServerOpts, TempDir, PASS, SIZES,
    USER,
};

const PASV: (u16, u16) = (27000, 27999);
const LIMIT: Duration = Duration::from_secs(600);

/// A root holding `src_SIZE` for every size, a users file making `alice`
/// (home = the root, all permissions), and a server on both.
fn setup(tag: &str, retr_path: &'static str) -> (TempDir, TempDir, Server) {
    let root = TempDir::new(tag);
    let etc = TempDir::new(&format!("{tag}-etc"));
    for size in SIZES {
        write_pattern_file(&root.join(&format!("src_{size}")), size, size ^ 0x5a);
    }
    let users = users_file(etc.path(), &[(USER, root.path(), "all")]);
    let opts = ServerOpts::new(PASV).users(users).retr_path(retr_path);
    let server = Server::start(root.path(), opts);
    (root, etc, server)
}

fn transfer_matrix(mode: Mode, retr_path: &'static str) {
    let (root, _etc, server) = setup(&format!("ftplib-{}", mode.verb()), retr_path);
    let mut args = vec![
        server.port.to_string(),
        root.path().display().to_string(),
        mode.verb().to_string(),
        USER.to_string(),
        PASS.to_string(),
    ];
    args.extend(SIZES.iter().map(|s| s.to_string()));
    run_python("transfer_matrix.py", &args, LIMIT).assert_ok(&format!(
        "ftplib transfers in {} ({retr_path})",
        mode.verb()
    ));
}

#[test]
fn ftplib_pasv_stor_retr_list() {
    transfer_matrix(Mode::Pasv, "splice");
}

#[test]
fn ftplib_epsv_stor_retr_list() {
    transfer_matrix(Mode::Epsv, "sendfile");
}

#[test]
fn ftplib_port_stor_retr_list() {
    transfer_matrix(Mode::Port, "sendfile");
}

#[test]
fn ftplib_eprt_stor_retr_list() {
    transfer_matrix(Mode::Eprt, "splice");
}

fn user_ops(mode: Mode) {
    let home = TempDir::new(&format!("ftplib-ops-{}", mode.verb()));
    let etc = TempDir::new("ftplib-ops-etc");
    let users = users_file(etc.path(), &[(USER, home.path(), "all")]);
    // The anonymous root is elsewhere: alice's home is her own directory.
    let anon_root = TempDir::new("ftplib-ops-anon");
    let server = Server::start(anon_root.path(), ServerOpts::new(PASV).users(users));
    let args = [
        server.port.to_string(),
        home.path().display().to_string(),
        mode.verb().to_string(),
        USER.to_string(),
        PASS.to_string(),
    ];
    run_python("user_ops.py", &args, LIMIT)
        .assert_ok(&format!("ftplib user operations in {}", mode.verb()));
    assert!(
        std::fs::read_dir(anon_root.path())
            .unwrap()
            .next()
            .is_none(),
        "alice's uploads landed in the anonymous root"
    );
}

#[test]
fn ftplib_user_ops_pasv() {
    user_ops(Mode::Pasv);
}

#[test]
fn ftplib_user_ops_epsv() {
    user_ops(Mode::Epsv);
}

#[test]
fn ftplib_user_ops_port() {
    user_ops(Mode::Port);
}

#[test]
fn ftplib_user_ops_eprt() {
    user_ops(Mode::Eprt);
}

fn abort(mode: Mode) {
    let root = TempDir::new("ftplib-abort");
    let size: u64 = 64 << 20;
    write_pattern_file(&root.join("big.bin"), size, 9);
    let server = Server::anonymous(root.path(), PASV);
    let args = [
        server.port.to_string(),
        mode.verb().to_string(),
        "big.bin".to_string(),
        size.to_string(),
    ];
    run_python("abort.py", &args, Duration::from_secs(180))
        .assert_ok(&format!("ftplib abort() in {}", mode.verb()));
}

#[test]
fn ftplib_abort_mid_transfer_pasv() {
    abort(Mode::Pasv);
}

#[test]
fn ftplib_abort_mid_transfer_port() {
    abort(Mode::Port);
}
