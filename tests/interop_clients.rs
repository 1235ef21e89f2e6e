//! Real third-party clients against a ringftpd on loopback: curl, lftp,
//! wget, tnftp and Python's ftplib, each operation in each data-connection
//! mode it supports. Every case checks the bytes that arrived, not only the
//! client's exit status.
//!
//! A missing client is skipped with a note, unless `RINGFTPD_REQUIRE_CLIENTS=1`
//! (scripts/install-test-deps.sh installs them). With `RINGFTPD_MATRIX_DIR`
//! set, each test also writes its rows (client, operation, mode, result) to
//! `<dir>/<client>.tsv`; scripts/interop-matrix.sh turns them into
//! docs/interop.md.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{have, write_random, Server, ServerOpts, TempDir, PASS, USER};

/// Passive ports of this file (no other test file uses 30xxx).
const PASV: (u16, u16) = (30000, 30999);

/// One client's server, local scratch directory and results.
struct Run {
    client: &'static str,
    srv: Server,
    local: TempDir,
    file: Vec<u8>,
    rows: Vec<(String, String, Result<(), String>)>,
}

impl Run {
    /// A server whose root holds `pub/file.bin` (1 MiB), `pub/tree/…` and an
    /// empty `up/`; `None` when the client is missing (and not required).
    fn new(client: &'static str, tool: &str) -> Option<Run> {
        if !have(tool) {
            if std::env::var("RINGFTPD_REQUIRE_CLIENTS").is_ok_and(|v| v == "1") {
                panic!("{tool} is missing: run scripts/install-test-deps.sh");
            }
            eprintln!("note: {tool} not installed; {client} interop cases skipped");
            return None;
        }
        let srv = Server::with_users(client, &[(USER, "all")], ServerOpts::new(PASV).cores(2));
        std::fs::create_dir_all(srv.path("pub/tree/sub dir")).unwrap();
        std::fs::create_dir_all(srv.path("up")).unwrap();
        let file = write_random(&srv.path("pub/file.bin"), 1 << 20, 42);
        std::fs::write(srv.path("pub/tree/a.txt"), b"alpha\n").unwrap();
        std::fs::write(srv.path("pub/tree/Grüße.txt"), "grüße\n").unwrap();
        write_random(&srv.path("pub/tree/sub dir/b.bin"), 70_000, 5);
        let local = TempDir::new(&format!("{client}-local"));
        Some(Run {
            client,
            srv,
            local,
            file,
            rows: Vec::new(),
        })
    }

    fn port(&self) -> u16 {
        self.srv.port
    }

    fn url(&self, path: &str) -> String {
        format!("ftp://{USER}:{PASS}@127.0.0.1:{}/{path}", self.port())
    }

    fn l(&self, rel: &str) -> PathBuf {
        self.local.join(rel)
    }

    /// Runs `script` with `sh -c` in the local directory.
    fn sh(&self, script: &str) -> Result<String, String> {
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(self.local.path())
            .env("LC_ALL", "C.UTF-8")
            .env("HOME", self.local.path())
            .output()
            .map_err(|e| format!("spawn: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!(
                "{script}: {}\n{}{}",
                out.status,
                text,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn case(&mut self, op: &str, mode: &str, f: impl FnOnce(&Run) -> Result<(), String>) {
        let r = f(self);
        if let Err(e) = &r {
            eprintln!("{} {op} [{mode}]: {e}", self.client);
        }
        self.rows.push((op.to_string(), mode.to_string(), r));
    }

    /// Writes the matrix rows if asked, then fails on any failed case.
    fn finish(self) {
        if let Ok(dir) = std::env::var("RINGFTPD_MATRIX_DIR") {
            let mut tsv = String::new();
            for (op, mode, r) in &self.rows {
                tsv.push_str(&format!(
                    "{}\t{op}\t{mode}\t{}\n",
                    self.client,
                    if r.is_ok() { "ok" } else { "FAIL" }
                ));
            }
            std::fs::write(Path::new(&dir).join(format!("{}.tsv", self.client)), tsv).unwrap();
        }
        let failed: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r.2.is_err())
            .map(|(op, mode, _)| format!("{op} [{mode}]"))
            .collect();
        assert!(failed.is_empty(), "{} failed: {failed:?}", self.client);
    }
}

fn same_file(a: &Path, b: &[u8]) -> Result<(), String> {
    let got = std::fs::read(a).map_err(|e| format!("{}: {e}", a.display()))?;
    if got == b {
        Ok(())
    } else {
        Err(format!(
            "{}: {} bytes, expected {}",
            a.display(),
            got.len(),
            b.len()
        ))
    }
}

/// Every file under `a` exists under `b` with the same bytes, and vice versa.
fn same_tree(a: &Path, b: &Path) -> Result<(), String> {
    let list = |p: &Path| -> Vec<PathBuf> {
        let mut v = Vec::new();
        let mut stack = vec![p.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                } else if e.file_name() != ".listing" {
                    // wget -m keeps its LIST output as `.listing`.
                    v.push(path.strip_prefix(p).unwrap().to_path_buf());
                }
            }
        }
        v.sort();
        v
    };
    let (la, lb) = (list(a), list(b));
    if la != lb {
        return Err(format!("trees differ: {la:?} vs {lb:?}"));
    }
    for f in la {
        same_file(&b.join(&f), &std::fs::read(a.join(&f)).unwrap())?;
    }
    Ok(())
}

fn contains(text: &str, what: &str) -> Result<(), String> {
    text.contains(what)
        .then_some(())
        .ok_or_else(|| format!("{what:?} not in {text:?}"))
}

#[test]
fn curl() {
    let Some(mut r) = Run::new("curl", "curl") else {
        return;
    };
    let c = "curl -sS --max-time 60";
    for (mode, flags) in [
        ("EPSV", ""),
        ("PASV", "--disable-epsv"),
        ("EPRT", "-P 127.0.0.1"),
        ("PORT", "--disable-eprt -P 127.0.0.1"),
    ] {
        r.case("download", mode, |r| {
            r.sh(&format!(
                "{c} {flags} -o dl.bin '{}'",
                r.url("pub/file.bin")
            ))?;
            same_file(&r.l("dl.bin"), &r.file)
        });
        r.case("list", mode, |r| {
            contains(
                &r.sh(&format!("{c} {flags} '{}'", r.url("pub/tree/")))?,
                "a.txt",
            )
        });
        r.case("upload -T", mode, |r| {
            let name = format!("up/curl-{mode}.bin");
            r.sh(&format!("{c} {flags} -T dl.bin '{}'", r.url(&name)))?;
            same_file(&r.srv.path(&name), &r.file)
        });
    }
    r.case("resume -C -", "EPSV", |r| {
        std::fs::write(r.l("part.bin"), &r.file[..300_000]).unwrap();
        r.sh(&format!("{c} -C - -o part.bin '{}'", r.url("pub/file.bin")))?;
        same_file(&r.l("part.bin"), &r.file)
    });
    r.case("upload --ftp-create-dirs", "EPSV", |r| {
        r.sh(&format!(
            "{c} --ftp-create-dirs -T dl.bin '{}'",
            r.url("up/new/deeper/x.bin")
        ))?;
        same_file(&r.srv.path("up/new/deeper/x.bin"), &r.file)
    });
    r.case("UTF-8 name", "EPSV", |r| {
        r.sh(&format!(
            "{c} -o g.txt '{}'",
            r.url("pub/tree/Gr%C3%BC%C3%9Fe.txt")
        ))?;
        same_file(&r.l("g.txt"), "grüße\n".as_bytes())
    });
    r.finish();
}

/// `lftp -c` with the settings every case shares (no TLS: plain FTP only).
fn lftp(r: &Run, mode: &str, cmds: &str) -> Result<String, String> {
    let (passive, epsv) = match mode {
        "EPSV" => ("on", "yes"),
        "PASV" => ("on", "no"),
        _ => ("off", "no"),
    };
    r.sh(&format!(
        "lftp -c 'set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 20; set ftp:ssl-allow no; \
         set ftp:passive-mode {passive}; set ftp:prefer-epsv {epsv}; set ftp:use-feat yes; \
         open -u {USER},{PASS} -p {} 127.0.0.1; {cmds}'",
        r.port()
    ))
}

#[test]
fn lftp_client() {
    let Some(mut r) = Run::new("lftp", "lftp") else {
        return;
    };
    for mode in ["EPSV", "PASV", "PORT"] {
        r.case("mirror", mode, |r| {
            let dst = format!("m-{mode}");
            lftp(r, mode, &format!("mirror pub/tree {dst}"))?;
            same_tree(&r.srv.path("pub/tree"), &r.l(&dst))
        });
        r.case("mirror -R", mode, |r| {
            let dst = format!("up/R-{mode}");
            lftp(r, mode, &format!("mirror -R m-{mode} {dst}"))?;
            same_tree(&r.l(&format!("m-{mode}")), &r.srv.path(&dst))
        });
        r.case("pget -n 4", mode, |r| {
            let out = format!("pget-{mode}.bin");
            lftp(r, mode, &format!("pget -n 4 pub/file.bin -o {out}"))?;
            same_file(&r.l(&out), &r.file)
        });
        r.case("ls", mode, |r| {
            contains(&lftp(r, mode, "cls -1 pub/tree")?, "Grüße.txt")
        });
    }
    r.case("put/rm/mkdir/rmdir/mv", "EPSV", |r| {
        lftp(
            r,
            "EPSV",
            "mkdir up/d; put pget-EPSV.bin -o up/d/p.bin; mv up/d/p.bin up/d/q.bin",
        )?;
        same_file(&r.srv.path("up/d/q.bin"), &r.file)?;
        lftp(r, "EPSV", "rm up/d/q.bin; rmdir up/d")?;
        (!r.srv.path("up/d").exists())
            .then_some(())
            .ok_or("up/d still there".into())
    });
    r.finish();
}

#[test]
fn wget() {
    let Some(mut r) = Run::new("wget", "wget") else {
        return;
    };
    for (mode, flags) in [("EPSV", ""), ("PORT", "--no-passive-ftp")] {
        r.case("download", mode, |r| {
            let out = format!("w-{mode}.bin");
            r.sh(&format!(
                "wget -q -T 30 -t 1 {flags} -O {out} '{}'",
                r.url("pub/file.bin")
            ))?;
            same_file(&r.l(&out), &r.file)
        });
        r.case("mirror -m", mode, |r| {
            let dst = format!("wm-{mode}");
            r.sh(&format!(
                "wget -q -T 30 -t 1 {flags} -m -nH -P {dst} '{}'",
                r.url("pub/tree/")
            ))?;
            same_tree(&r.srv.path("pub/tree"), &r.l(&format!("{dst}/pub/tree")))
        });
    }
    r.finish();
}

#[test]
fn tnftp() {
    let Some(mut r) = Run::new("tnftp", "tnftp") else {
        return;
    };
    std::fs::write(r.l("local.bin"), &r.file).unwrap();
    let port = r.port();
    for (mode, setup) in [
        ("EPSV", "passive on"),
        ("PASV", "passive on\nepsv4 off"),
        ("PORT", "passive off"),
    ] {
        let script = |cmds: &str| {
            format!(
                "tnftp -n -v <<'EOF'\nopen 127.0.0.1 {port}\nuser {USER} {PASS}\nbinary\n{setup}\n{cmds}\nquit\nEOF"
            )
        };
        let get = script(&format!("get pub/file.bin t-{mode}.bin"));
        r.case("get", mode, |r| {
            contains(&r.sh(&get)?, "226")?;
            same_file(&r.l(&format!("t-{mode}.bin")), &r.file)
        });
        let put = script(&format!("put local.bin up/t-{mode}.bin"));
        r.case("put", mode, |r| {
            r.sh(&put)?;
            same_file(&r.srv.path(&format!("up/t-{mode}.bin")), &r.file)
        });
        let ls = script("ls pub/tree");
        r.case("ls", mode, |r| contains(&r.sh(&ls)?, "a.txt"));
    }
    r.case("URL download", "EPSV", |r| {
        r.sh(&format!(
            "tnftp -o url.bin '{}' </dev/null",
            r.url("pub/file.bin")
        ))?;
        same_file(&r.l("url.bin"), &r.file)
    });
    r.finish();
}

#[test]
fn python_ftplib() {
    let Some(mut r) = Run::new("ftplib", "python3") else {
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop_ftplib_all.py");
    let out = r.sh(&format!(
        "python3 '{}' 127.0.0.1 {} {USER} {PASS} '{}'",
        script.display(),
        r.port(),
        r.srv.root.display()
    ));
    let text = match out {
        Ok(t) => t,
        Err(e) => {
            r.case("script", "-", |_| Err(e));
            return r.finish();
        }
    };
    for line in text.lines().filter(|l| l.starts_with("CASE\t")) {
        let f: Vec<&str> = line.splitn(4, '\t').collect();
        let (op, mode, res) = (f[1], f[2], f.get(3).copied().unwrap_or("FAIL"));
        r.case(op, mode, |_| {
            if res == "ok" {
                Ok(())
            } else {
                Err(res.to_string())
            }
        });
    }
    assert!(
        r.rows.len() > 20,
        "ftplib script ran {} cases",
        r.rows.len()
    );
    r.finish();
}
