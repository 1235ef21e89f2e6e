//! The attack fixture: a served root beside an `outside` directory holding
//! sentinels the server must never read or write.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{chmod, users_file, Server, ServerOpts, TempDir, USER};

/// Content of the sentinel files outside the root.
pub const SECRET: &str = "TOP-SECRET-ringftpd-sentinel-7f3a";

/// A temporary tree: `base/root` (served) and `base/outside` (sentinels).
pub struct Tree {
    pub base: PathBuf,
    pub root: PathBuf,
    pub outside: PathBuf,
    _dir: TempDir,
}

impl Tree {
    /// A fresh tree with `root/pub/file.txt` and `outside/secret.txt`,
    /// `outside/dir/secret2.txt`; world-readable so a `--run-as` server can
    /// serve it.
    pub fn new(tag: &str) -> Tree {
        let dir = TempDir::new(&format!("attack-{tag}"));
        let base = dir.path().to_path_buf();
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join("pub")).unwrap();
        std::fs::create_dir_all(outside.join("dir")).unwrap();
        std::fs::write(root.join("pub/file.txt"), b"public data\n").unwrap();
        std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
        std::fs::write(outside.join("dir/secret2.txt"), SECRET).unwrap();
        for d in [&base, &root, &root.join("pub"), &outside] {
            chmod(d, 0o755);
        }
        Tree {
            base,
            root,
            outside,
            _dir: dir,
        }
    }

    /// A users file (beside the root) with [`USER`]: all permissions, home =
    /// the root, password [`super::PASS`].
    pub fn users_file(&self) -> PathBuf {
        users_file(&self.base, &[(USER, &self.root, "all")])
    }

    /// A server on the root with `opts` and the users file of
    /// [`Tree::users_file`].
    pub fn serve_users(&self, opts: ServerOpts) -> Server {
        Server::start(&self.root, opts.users(self.users_file()))
    }

    /// Every file under `outside`, with its content and mtime, to compare
    /// before and after an attack.
    pub fn outside_snapshot(&self) -> Vec<(PathBuf, Vec<u8>, SystemTime)> {
        let mut out = Vec::new();
        walk(&self.outside, &mut out);
        out.sort();
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>, SystemTime)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        if m.is_dir() {
            walk(&e.path(), out);
        }
        let content = if m.is_file() {
            std::fs::read(e.path()).unwrap()
        } else {
            Vec::new()
        };
        out.push((e.path(), content, m.modified().unwrap()));
    }
}
