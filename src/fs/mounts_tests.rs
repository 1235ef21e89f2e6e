//! Tests of virtual folders: which root serves a path, confinement inside a
//! folder, renames across folders, and folders showing up in listings.

use super::*;
use std::fs;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use crate::fs::test_tree::TempTree;
use crate::fs::{FileKind, WriteMode};

/// `home/` with `home/own.txt`, and `shared/` with `shared/s.txt`.
struct Trees(TempTree);

impl Trees {
    fn new(tag: &str) -> Trees {
        let dirs = ["home/sub", "shared/d"];
        let files: [(&str, &[u8]); 2] = [("home/own.txt", b"home"), ("shared/s.txt", b"shared")];
        Trees(TempTree::new("mounts", tag, &dirs, &files))
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.path(rel)
    }

    /// The home with `shared/` at `/shared` and `shared/d` at `/sub/deep`.
    fn root(&self) -> Root {
        Root::open(&self.path("home"))
            .unwrap()
            .with_folder(vp("/shared"), &self.path("shared"))
            .unwrap()
            .with_folder(vp("/sub/deep"), &self.path("shared/d"))
            .unwrap()
    }
}

fn vp(s: &str) -> VPath {
    VPath::root().resolve(s).unwrap()
}

fn read(root: &Root, p: &str) -> Result<Vec<u8>, FsError> {
    let (fd, _) = root.open_read(&vp(p))?;
    let mut buf = Vec::new();
    fs::File::from(fd).read_to_end(&mut buf).unwrap();
    Ok(buf)
}

#[test]
fn longest_mount_prefix_serves_the_path() {
    let t = Trees::new("locate");
    let root = t.root();
    let home: *const Root = &root;
    let is_home = |p: &str, want: &str| {
        let p = vp(p);
        let (r, rel) = root.locate(&p);
        assert_eq!(rel, want);
        std::ptr::eq(r, home)
    };
    assert!(is_home("/own.txt", "own.txt"));
    assert!(!is_home("/shared", "."));
    assert!(!is_home("/shared/d/x", "d/x"));
    // Component-wise: /shared2 is the home's.
    assert!(is_home("/shared2/x", "shared2/x"));
    assert_eq!(root.locate(&vp("/sub/deep/y")).1, "y");
    assert_eq!(root.locate(&vp("/sub/deeper")).1, "sub/deeper");
    assert_eq!(read(&root, "/shared/s.txt").unwrap(), b"shared");
    assert_eq!(read(&root, "/own.txt").unwrap(), b"home");
    assert_eq!(read(&root, "/shared/own.txt"), Err(FsError::NotFound));
}

#[test]
fn a_folder_is_confined_like_the_home() {
    let t = Trees::new("confine");
    symlink("..", t.path("shared/up")).unwrap();
    symlink("/", t.path("shared/abs")).unwrap();
    let root = t.root();
    // `..` and absolute links inside the folder stay in the folder.
    assert_eq!(read(&root, "/shared/up/s.txt").unwrap(), b"shared");
    assert_eq!(read(&root, "/shared/up/own.txt"), Err(FsError::NotFound));
    assert_eq!(read(&root, "/shared/abs/own.txt"), Err(FsError::NotFound));
    assert_eq!(read(&root, "/shared/abs/s.txt").unwrap(), b"shared");
    // Writes land in the host directory behind the folder.
    drop(
        root.open_write(&vp("/shared/new"), WriteMode::CreateNew)
            .unwrap(),
    );
    assert!(t.path("shared/new").exists());
    assert!(!t.path("home/shared").exists());
}

#[test]
fn renames_stay_inside_one_folder() {
    let t = Trees::new("rename");
    let root = t.root();
    assert_eq!(
        root.rename(&vp("/shared/s.txt"), &vp("/s.txt")),
        Err(FsError::CrossDevice)
    );
    assert_eq!(
        root.rename(&vp("/own.txt"), &vp("/shared/own.txt")),
        Err(FsError::CrossDevice)
    );
    assert_eq!(
        root.rename(&vp("/shared/d/x"), &vp("/sub/deep/x")),
        Err(FsError::CrossDevice),
        "two folders over the same host tree are still two roots"
    );
    assert!(t.path("shared/s.txt").exists() && t.path("home/own.txt").exists());
    root.rename(&vp("/shared/s.txt"), &vp("/shared/d/t.txt"))
        .unwrap();
    assert!(t.path("shared/d/t.txt").exists());
    // The folder's own top has no name to remove or rename.
    assert_eq!(root.rmdir(&vp("/shared")), Err(FsError::InvalidName));
    assert_eq!(
        root.rename(&vp("/shared"), &vp("/shared/x")),
        Err(FsError::InvalidName)
    );
    assert!(root.with_folder(vp("/"), &t.path("shared")).is_err());
    let missing = Root::open(&t.path("home")).unwrap();
    assert_eq!(
        missing
            .with_folder(vp("/x"), &t.path("nowhere"))
            .unwrap_err(),
        FsError::NotFound
    );
}

#[test]
fn listings_show_folders_as_directories() {
    let t = Trees::new("list");
    // A real file where a folder is mounted is hidden by the folder.
    fs::write(t.path("home/shared"), b"not a dir").unwrap();
    let root = t.root();
    let info = root.stat(&vp("/shared")).unwrap();
    assert_eq!((info.kind, info.name.as_str()), (FileKind::Dir, "shared"));
    let names = |entries: &[FileInfo]| {
        let mut v: Vec<(String, FileKind)> =
            entries.iter().map(|e| (e.name.clone(), e.kind)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let (entries, truncated) = root.read_dir(&vp("/"), 100).unwrap();
    assert!(!truncated);
    let want = vec![
        ("own.txt".to_string(), FileKind::File),
        ("shared".to_string(), FileKind::Dir),
        ("sub".to_string(), FileKind::Dir),
    ];
    assert_eq!(names(&entries), want);
    let mut stream = root.dir_stream(&vp("/")).unwrap();
    let mut streamed = Vec::new();
    while let Some(e) = stream.next_entry() {
        streamed.push(e.unwrap());
    }
    assert_eq!(names(&streamed), want);
    // `/sub/deep` does not exist in the home, yet is listed in `/sub`.
    let (entries, _) = root.read_dir(&vp("/sub"), 100).unwrap();
    assert_eq!(names(&entries), vec![("deep".to_string(), FileKind::Dir)]);
    // The folder itself lists its host directory.
    let (entries, _) = root.read_dir(&vp("/shared"), 100).unwrap();
    assert_eq!(
        names(&entries),
        vec![
            ("d".to_string(), FileKind::Dir),
            ("s.txt".to_string(), FileKind::File)
        ]
    );
    // The limit counts folders too.
    let (entries, truncated) = root.read_dir(&vp("/"), 2).unwrap();
    assert!(truncated && entries.len() <= 2, "{entries:?}");
}
