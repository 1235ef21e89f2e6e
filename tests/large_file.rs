//! A 1 GiB file downloads byte-exact with curl in PASV, EPSV, PORT and EPRT
//! (once each), hashed as it streams out of curl's stdout. PASV and EPRT use
//! the splice RETR path, EPSV and PORT sendfile.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{sha256_reader, wait_with_limit, write_big_file, Mode, Server, ServerOpts, TempDir};

const PASV: (u16, u16) = (24000, 24999);
const SIZE: u64 = 1 << 30;

/// curl's options for one data-connection mode.
fn mode_args(mode: Mode) -> &'static [&'static str] {
    match mode {
        Mode::Pasv => &["--disable-epsv"],
        Mode::Epsv => &["--epsv"],
        Mode::Port => &["--ftp-port", "127.0.0.1", "--disable-eprt"],
        Mode::Eprt => &["--ftp-port", "127.0.0.1", "--eprt"],
    }
}

#[test]
fn one_gib_download_is_byte_exact_in_every_mode() {
    let root = TempDir::new("gib");
    let want = write_big_file(&root.join("big.bin"), SIZE);
    let splice = Server::start(root.path(), ServerOpts::new(PASV).retr_path("splice"));
    let sendfile = Server::start(root.path(), ServerOpts::new(PASV).retr_path("sendfile"));
    for (mode, server, path) in [
        (Mode::Pasv, &splice, "splice"),
        (Mode::Epsv, &sendfile, "sendfile"),
        (Mode::Port, &sendfile, "sendfile"),
        (Mode::Eprt, &splice, "splice"),
    ] {
        let mut child = Command::new("curl")
            .arg("-sS")
            .args(mode_args(mode))
            .arg(format!("{}/big.bin", server.url()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn curl");
        let stdout = child.stdout.take().unwrap();
        // Hash on this thread while curl runs; curl is killed if it hangs,
        // which closes the pipe and ends the read.
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let pid = child.id();
        let watchdog = std::thread::spawn(move || {
            if done_rx.recv_timeout(Duration::from_secs(300)).is_err() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        });
        let (got, count) = sha256_reader(stdout).expect("read curl stdout");
        let _ = done_tx.send(());
        watchdog.join().unwrap();
        let mut stderr = String::new();
        use std::io::Read;
        let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
        let (status, _) = wait_with_limit(child, Duration::from_secs(30));
        assert!(
            status.is_some_and(|s| s.success()),
            "curl 1 GiB {} ({path}): {status:?} {stderr}",
            mode.verb()
        );
        assert_eq!(count, SIZE, "1 GiB {} ({path}): byte count", mode.verb());
        assert_eq!(got, want, "1 GiB {} ({path}): sha256", mode.verb());
    }
}
