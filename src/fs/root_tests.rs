//! Tests of [`Root`]: confinement (escape attempts through symlinks and `..`)
//! and the ordinary operations. They drive the `*_rel` twins because a
//! `VPath` below `/` cannot be built outside `proto::path`.

use super::*;
use crate::fs::test_tree::TempTree;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{symlink, PermissionsExt};

/// The RMD and DELE twins, named as the tests call them.
impl Root {
    fn rmdir_rel(&self, rel: &str) -> Result<(), FsError> {
        self.remove_rel(rel, UnlinkatFlags::RemoveDir)
    }

    fn unlink_rel(&self, rel: &str) -> Result<(), FsError> {
        self.remove_rel(rel, UnlinkatFlags::NoRemoveDir)
    }
}

/// `root/` (the confined tree) and `outside/` (what must stay unreachable).
struct Sandbox(TempTree);

impl Sandbox {
    fn new(tag: &str) -> Sandbox {
        let dirs = ["root", "outside"];
        Sandbox(TempTree::new(
            "fs",
            tag,
            &dirs,
            &[("outside/secret", b"secret")],
        ))
    }

    fn root_path(&self) -> PathBuf {
        self.0.path("root")
    }

    fn in_root(&self, rel: &str) -> PathBuf {
        self.0.path("root").join(rel)
    }

    fn outside(&self) -> PathBuf {
        self.0.path("outside")
    }

    fn root(&self) -> Root {
        Root::open(&self.root_path()).unwrap()
    }
}

fn read_all(fd: OwnedFd) -> Vec<u8> {
    let mut buf = Vec::new();
    fs::File::from(fd).read_to_end(&mut buf).unwrap();
    buf
}

#[test]
fn rel_and_split() {
    assert_eq!(
        Root::open(Path::new("/")).unwrap().locate(&VPath::root()).1,
        "."
    );
    assert_eq!(split_last("a/b/c"), Ok(("a/b", "c")));
    assert_eq!(split_last("c"), Ok((".", "c")));
    assert_eq!(split_last("."), Err(FsError::InvalidName));
    assert_eq!(split_last("a/.."), Err(FsError::InvalidName));
    assert_eq!(split_last("a/"), Err(FsError::InvalidName));
    assert_eq!(display_name("."), "/");
    assert_eq!(display_name("a/b"), "b");
}

#[test]
fn open_missing_or_file_fails() {
    let sb = Sandbox::new("open");
    assert_eq!(
        Root::open(&sb.in_root("nope")).unwrap_err(),
        FsError::NotFound
    );
    fs::write(sb.in_root("f"), b"x").unwrap();
    assert_eq!(
        Root::open(&sb.in_root("f")).unwrap_err(),
        FsError::NotADirectory
    );
    let root = sb.root();
    assert_eq!(root.path(), sb.root_path());
    assert_eq!(root.stat(&VPath::root()).unwrap().kind, FileKind::Dir);
    assert_eq!(root.stat(&VPath::root()).unwrap().name, "/");
}

#[test]
fn absolute_symlink_stays_inside() {
    let sb = Sandbox::new("abs");
    symlink("/etc", sb.in_root("link")).unwrap();
    let root = sb.root();
    assert_eq!(root.stat_rel("link/passwd").unwrap_err(), FsError::NotFound);
    assert_eq!(
        root.open_read_rel("link/passwd").unwrap_err(),
        FsError::NotFound
    );
    // The same name inside the root is what the link reaches.
    fs::create_dir(sb.in_root("etc")).unwrap();
    fs::write(sb.in_root("etc/passwd"), b"inside").unwrap();
    let (fd, info) = root.open_read_rel("link/passwd").unwrap();
    assert_eq!(info.name, "passwd");
    assert_eq!(read_all(fd), b"inside");
}

#[test]
fn dotdot_chains_stay_inside() {
    let sb = Sandbox::new("dotdot");
    symlink("../../../../../../..", sb.in_root("up")).unwrap();
    fs::create_dir(sb.in_root("d")).unwrap();
    symlink("../../outside", sb.in_root("d/inner")).unwrap();
    let root = sb.root();
    for p in ["up/etc/passwd", "../outside/secret", "d/inner/secret"] {
        assert_eq!(root.stat_rel(p).unwrap_err(), FsError::NotFound, "{p}");
    }
    assert_eq!(
        root.open_read_rel("d/inner/secret").unwrap_err(),
        FsError::NotFound
    );
    // `up` resolves to the root itself.
    assert_eq!(root.stat_rel("up").unwrap().kind, FileKind::Dir);
    let (list, _) = root.read_dir_rel("up", 10).unwrap();
    let mut names: Vec<_> = list.iter().map(|i| i.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["d", "up"]);
    assert!(root.subroot_rel("d/inner").is_err());
}

#[test]
fn write_through_symlink_does_not_touch_outside() {
    let sb = Sandbox::new("wr");
    let secret = sb.outside().join("secret");
    symlink(&secret, sb.in_root("abs")).unwrap();
    symlink("../outside/secret", sb.in_root("relative")).unwrap();
    let root = sb.root();
    for mode in [WriteMode::Truncate, WriteMode::Append, WriteMode::At(0)] {
        assert_eq!(
            root.open_write_rel("abs", mode).unwrap_err(),
            FsError::NotFound
        );
        assert_eq!(
            root.open_write_rel("relative", mode).unwrap_err(),
            FsError::NotFound
        );
    }
    assert_eq!(
        root.open_write_rel("abs", WriteMode::CreateNew)
            .unwrap_err(),
        FsError::AlreadyExists
    );
    // With an `outside` dir inside the root, the write lands there.
    fs::create_dir(sb.in_root("outside")).unwrap();
    let mut f = fs::File::from(
        root.open_write_rel("relative", WriteMode::Truncate)
            .unwrap(),
    );
    f.write_all(b"caught").unwrap();
    assert_eq!(fs::read(&secret).unwrap(), b"secret");
    assert_eq!(fs::read(sb.in_root("outside/secret")).unwrap(), b"caught");
}

#[test]
fn name_ops_through_links_stay_inside() {
    let sb = Sandbox::new("names");
    symlink(sb.outside(), sb.in_root("out")).unwrap();
    symlink(sb.outside().join("secret"), sb.in_root("sec")).unwrap();
    let root = sb.root();
    let refused = [
        ("unlink", root.unlink_rel("out/secret"), FsError::NotFound),
        (
            "rename",
            root.rename_rel("out/secret", "stolen"),
            FsError::NotFound,
        ),
        ("mkdir", root.mkdir_rel("out/newdir"), FsError::NotFound),
        (
            "chmod",
            root.chmod_rel("out/secret", 0o777),
            FsError::NotFound,
        ),
        (
            "chmod link",
            root.chmod_rel("sec", 0o777),
            FsError::PermissionDenied,
        ),
        (
            "mtime link",
            root.set_mtime_rel("sec", 0),
            FsError::PermissionDenied,
        ),
    ];
    for (what, got, want) in refused {
        assert_eq!(got.unwrap_err(), want, "{what}");
    }
    // Renaming and deleting a link acts on the link only.
    root.rename_rel("sec", "sec2").unwrap();
    root.unlink_rel("sec2").unwrap();
    root.unlink_rel("out").unwrap();
    assert_eq!(fs::read(sb.outside().join("secret")).unwrap(), b"secret");
    let mode = fs::metadata(sb.outside().join("secret"))
        .unwrap()
        .permissions()
        .mode();
    assert_ne!(mode & 0o777, 0o777);
    assert!(!sb.outside().join("newdir").exists());
}

#[test]
fn mkdir_rmdir_unlink_rename() {
    let sb = Sandbox::new("ops");
    let root = sb.root();
    root.mkdir_rel("a").unwrap();
    assert_eq!(root.mkdir_rel("a").unwrap_err(), FsError::AlreadyExists);
    assert_eq!(root.mkdir_rel("x/y").unwrap_err(), FsError::NotFound);
    root.mkdir_rel("a/b").unwrap();
    assert_eq!(root.rmdir_rel("a").unwrap_err(), FsError::NotEmpty);
    assert_eq!(root.unlink_rel("a/b").unwrap_err(), FsError::IsADirectory);
    root.rmdir_rel("a/b").unwrap();
    fs::write(sb.in_root("a/f"), b"data").unwrap();
    assert_eq!(root.rmdir_rel("a/f").unwrap_err(), FsError::NotADirectory);
    root.rename_rel("a/f", "g").unwrap();
    assert_eq!(fs::read(sb.in_root("g")).unwrap(), b"data");
    assert_eq!(root.stat_rel("a/f").unwrap_err(), FsError::NotFound);
    root.unlink_rel("g").unwrap();
    assert_eq!(root.unlink_rel("g").unwrap_err(), FsError::NotFound);
    root.rmdir_rel("a").unwrap();
    assert_eq!(root.rmdir_rel(".").unwrap_err(), FsError::InvalidName);
    assert_eq!(root.unlink_rel("a/..").unwrap_err(), FsError::InvalidName);
}

#[test]
fn stat_and_read_dir() {
    let sb = Sandbox::new("dir");
    let root = sb.root();
    fs::write(sb.in_root("f"), b"12345").unwrap();
    fs::create_dir(sb.in_root("d")).unwrap();
    symlink("f", sb.in_root("l")).unwrap();
    let st = root.stat_rel("f").unwrap();
    assert_eq!(
        (st.name.as_str(), st.kind, st.size, st.nlink),
        ("f", FileKind::File, 5, 1)
    );
    // stat follows an inner link; read_dir does not.
    assert_eq!(root.stat_rel("l").unwrap().kind, FileKind::File);
    let (mut list, truncated) = root.read_dir_rel(".", 10).unwrap();
    assert!(!truncated);
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let kinds: Vec<_> = list.iter().map(|i| (i.name.as_str(), i.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("d", FileKind::Dir),
            ("f", FileKind::File),
            ("l", FileKind::Symlink)
        ]
    );
    let (list, truncated) = root.read_dir_rel(".", 2).unwrap();
    assert_eq!((list.len(), truncated), (2, true));
    let (list, truncated) = root.read_dir_rel(".", 3).unwrap();
    assert_eq!((list.len(), truncated), (3, false));
    assert_eq!(
        root.read_dir_rel("f", 10).unwrap_err(),
        FsError::NotADirectory
    );
    assert_eq!(root.open_read_rel("d").unwrap_err(), FsError::IsADirectory);
    let sub = root.subroot_rel("d").unwrap();
    assert_eq!(sub.read_dir_rel(".", 10).unwrap(), (vec![], false));
    assert_eq!(sub.path(), sb.in_root("d"));
}

#[test]
fn set_mtime_and_chmod() {
    let sb = Sandbox::new("meta");
    let root = sb.root();
    fs::write(sb.in_root("f"), b"x").unwrap();
    root.set_mtime_rel("f", 1_000_000_000).unwrap();
    assert_eq!(root.stat_rel("f").unwrap().mtime_secs, 1_000_000_000);
    root.chmod_rel("f", 0o4640).unwrap();
    assert_eq!(root.stat_rel("f").unwrap().mode, 0o640);
    assert_eq!(
        root.chmod_rel("missing", 0o600).unwrap_err(),
        FsError::NotFound
    );
    assert_eq!(
        root.set_mtime_rel(".", 0).unwrap_err(),
        FsError::InvalidName
    );
}

#[test]
fn write_modes() {
    let sb = Sandbox::new("modes");
    let root = sb.root();
    let write = |mode, data: &[u8]| {
        let mut f = fs::File::from(root.open_write_rel("f", mode).unwrap());
        if let WriteMode::At(n) = mode {
            f.seek(SeekFrom::Start(n)).unwrap();
        }
        f.write_all(data).unwrap();
    };
    write(WriteMode::Truncate, b"hello world");
    assert_eq!(root.stat_rel("f").unwrap().mode & !0o644, 0);
    write(WriteMode::Append, b"!");
    assert_eq!(fs::read(sb.in_root("f")).unwrap(), b"hello world!");
    write(WriteMode::At(6), b"WORLD");
    assert_eq!(fs::read(sb.in_root("f")).unwrap(), b"hello WORLD!");
    write(WriteMode::Truncate, b"new");
    assert_eq!(fs::read(sb.in_root("f")).unwrap(), b"new");
    assert_eq!(
        root.open_write_rel("f", WriteMode::CreateNew).unwrap_err(),
        FsError::AlreadyExists
    );
    let fd = root.open_write_rel("g", WriteMode::CreateNew).unwrap();
    drop(fd);
    assert_eq!(root.stat_rel("g").unwrap().size, 0);
    fs::create_dir(sb.in_root("d")).unwrap();
    assert_eq!(
        root.open_write_rel("d", WriteMode::Truncate).unwrap_err(),
        FsError::IsADirectory
    );
    assert_eq!(
        root.open_write_rel(".", WriteMode::Truncate).unwrap_err(),
        FsError::InvalidName
    );
}

#[test]
fn fifo_is_refused_without_blocking() {
    let sb = Sandbox::new("fifo");
    nix::unistd::mkfifo(&sb.in_root("p"), Mode::from_bits_truncate(0o644)).unwrap();
    let root = sb.root();
    assert_eq!(
        root.open_read_rel("p").unwrap_err(),
        FsError::PermissionDenied
    );
    assert_eq!(
        root.open_write_rel("p", WriteMode::Append).unwrap_err(),
        FsError::PermissionDenied
    );
    assert_eq!(root.stat_rel("p").unwrap().kind, FileKind::Other);
}
