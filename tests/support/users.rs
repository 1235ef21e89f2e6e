//! Users files: the argon2id hash of [`PASS`] made by `ringftpd passwd`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use super::process::{read_all_in_thread, wait_with_limit};
use super::{BIN, PASS};

/// The argon2id hash of [`PASS`], made once per test binary by `ringftpd passwd`.
pub fn pass_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_with_passwd_cmd(PASS))
}

/// Runs `ringftpd passwd` with `password` on stdin and returns the hash line.
pub fn hash_with_passwd_cmd(password: &str) -> String {
    let mut child = Command::new(BIN)
        .arg("passwd")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ringftpd passwd");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{password}\n").as_bytes()).unwrap();
    drop(stdin);
    let out = read_all_in_thread(child.stdout.take());
    let err = read_all_in_thread(child.stderr.take());
    let (status, _) = wait_with_limit(child, Duration::from_secs(60));
    let stdout = out.recv().unwrap_or_default();
    let stderr = err.recv().unwrap_or_default();
    assert_eq!(
        status.map(|s| s.code()),
        Some(Some(0)),
        "ringftpd passwd: {stderr}"
    );
    let hash = stdout.trim().to_string();
    assert!(
        hash.starts_with("$argon2id$"),
        "ringftpd passwd printed {stdout:?}, expected an argon2id hash"
    );
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout:?}");
    hash
}

/// Writes a users file into `dir` with one line per `(name, home, perms)`,
/// all with password [`PASS`]. Returns its path.
pub fn users_file(dir: &Path, users: &[(&str, &Path, &str)]) -> PathBuf {
    let mut text = String::from("# test users\n");
    for (name, home, perms) in users {
        text.push_str(&format!(
            "{name}:{}:{}:{perms}\n",
            pass_hash(),
            home.display()
        ));
    }
    let path = dir.join("users");
    fs::write(&path, text).expect("write users file");
    path
}
