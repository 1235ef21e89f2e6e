//! Child processes with a time limit: run to completion, or start and wait
//! (bounded) for the first line they print, whether a tool is on PATH, and
//! the descriptors a process holds.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::START_TIMEOUT;

/// What a finished child process left behind.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn ok(&self) -> bool {
        self.status.success()
    }

    /// Panics with everything the process said unless it exited 0.
    pub fn assert_ok(&self, what: &str) {
        assert!(
            self.ok(),
            "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
    }
}

/// Everything `r` yields, read on a thread; sent when `r` ends.
pub(super) fn read_all_in_thread(r: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut s);
        }
        let _ = tx.send(String::from_utf8_lossy(&s).into_owned());
    });
    rx
}

/// Waits for `child` to exit, killing it (SIGKILL) after `limit`.
/// Returns `None` when it had to be killed.
pub fn wait_with_limit(mut child: Child, limit: Duration) -> (Option<ExitStatus>, Child) {
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(());
        (status, child)
    });
    let timed_out = rx.recv_timeout(limit).is_err();
    if timed_out {
        // Our own child, not reaped yet: the waiter thread has not returned.
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let (status, child) = waiter.join().expect("waiter thread");
    let status = status.expect("wait for child");
    (if timed_out { None } else { Some(status) }, child)
}

/// Runs `cmd` to completion with captured output, killed after `limit`.
pub fn run_limited(cmd: &mut Command, limit: Duration) -> Finished {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let out = read_all_in_thread(child.stdout.take());
    let err = read_all_in_thread(child.stderr.take());
    let (status, _) = wait_with_limit(child, limit);
    let stdout = out.recv().unwrap_or_default();
    let stderr = err.recv().unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "{desc} did not finish within {limit:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
    };
    Finished {
        status,
        stdout,
        stderr,
    }
}

/// Spawns `cmd` with its stdout piped and waits up to [`START_TIMEOUT`] for
/// the first line it prints (a server's start line), returned without its
/// line end; the rest of stdout is drained so the child never blocks on a
/// full pipe. A child that prints nothing in time, or exits first, is killed
/// and reaped, and the test panics saying so.
pub fn spawn_until_started(cmd: &mut Command) -> (Child, String) {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        let res = r.read_line(&mut line).map(|_| line);
        let _ = tx.send(res);
        let _ = std::io::copy(&mut r, &mut std::io::sink());
    });
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok(line)) if !line.is_empty() => (child, line.trim_end().to_string()),
        other => {
            let _ = child.kill();
            let status = child.wait();
            panic!(
                "{desc} printed no start line within {START_TIMEOUT:?} ({other:?}); \
                 killed, exit status {status:?}"
            );
        }
    }
}

/// Directory of the Python client scripts.
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python")
}

/// Runs `python3 tests/python/<script> args…`, killed after `limit`.
pub fn run_python(script: &str, args: &[String], limit: Duration) -> Finished {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg(python_dir().join(script)).args(args);
    run_limited(&mut cmd, limit)
}

/// True when `tool` is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The descriptors `pid` holds, not counting its listening TCP sockets on a
/// port of `pasv` (the passive listeners a worker pools between transfers,
/// `--pasv-reuse-listener`; bounded, and closed when idle): what a leak
/// check compares.
pub fn fds_without_pooled(pid: u32, pasv: (u16, u16)) -> usize {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    let mut total = 0;
    let mut sockets = std::collections::HashSet::new();
    for e in dir.flatten() {
        total += 1;
        let target = std::fs::read_link(e.path()).unwrap_or_default();
        let t = target.to_string_lossy();
        if let Some(inode) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
            sockets.insert(inode.to_string());
        }
    }
    let mut pooled = 0;
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            // sl local_address rem_address st ... inode (column 9)
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || cols[3] != "0A" || !sockets.contains(cols[9]) {
                continue;
            }
            let port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if port.is_some_and(|p| (pasv.0..=pasv.1).contains(&p)) {
                pooled += 1;
            }
        }
    }
    total - pooled
}
