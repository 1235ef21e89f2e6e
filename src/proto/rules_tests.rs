//! Tests of the permission resolver: prefixes, component boundaries, rights
//! taken away below, upload-only, moves and copies between subtrees with
//! mixed rights, and `..` (resolved before the check, as the session does).

use super::*;

fn vp(s: &str) -> VPath {
    VPath::root().resolve(s).unwrap()
}

fn p(names: &str) -> Perms {
    Perms::parse(names).unwrap()
}

/// A mirror: read-only tree, writable `/incoming`, a private subtree taken
/// away, an upload-only drop directory.
fn mirror() -> PathRules {
    PathRules::new([
        (vp("/"), p("list,read")),
        (vp("/incoming"), p("all")),
        (vp("/incoming/private"), Perms::NONE),
        (vp("/drop"), Perms::UPLOAD_ONLY),
    ])
}

#[test]
fn longest_prefix_decides() {
    let t = mirror();
    assert_eq!(t.rule_for(&vp("/pub/file")).path, vp("/"));
    assert_eq!(t.rule_for(&vp("/incoming")).path, vp("/incoming"));
    assert_eq!(t.rule_for(&vp("/incoming/a/b")).path, vp("/incoming"));
    assert_eq!(
        t.rule_for(&vp("/incoming/private/x")).path,
        vp("/incoming/private")
    );
    assert_eq!(t.check(&vp("/pub/file"), Perms::READ), Ok(Access::Full));
    assert_eq!(
        t.check(&vp("/incoming/new"), Perms::WRITE),
        Ok(Access::Full)
    );
    assert_eq!(
        t.check(&vp("/incoming/private/x"), Perms::READ),
        Err(Denied::Missing {
            missing: Perms::READ,
            rule: vp("/incoming/private")
        })
    );
}

#[test]
fn prefixes_match_whole_components_only() {
    let t = PathRules::new([(vp("/"), Perms::NONE), (vp("/inc"), p("all"))]);
    assert_eq!(t.rule_for(&vp("/incoming")).path, vp("/"));
    assert_eq!(t.rule_for(&vp("/inc.d")).path, vp("/"));
    assert_eq!(t.rule_for(&vp("/inc")).path, vp("/inc"));
    assert_eq!(t.rule_for(&vp("/inc/x")).path, vp("/inc"));
    assert!(t.check(&vp("/incoming/x"), Perms::WRITE).is_err());
}

#[test]
fn root_without_a_rule_grants_nothing() {
    let t = PathRules::new([(vp("/pub"), p("ro"))]);
    assert!(t.check(&vp("/etc"), Perms::LIST).is_err());
    assert!(t.may_enter(&vp("/etc")).is_err());
    assert!(t.check(&vp("/pub/a"), Perms::READ).is_ok());
    // A later rule for the same path replaces the earlier one.
    let t = t.with_rule(vp("/pub"), Perms::NONE);
    assert!(t.check(&vp("/pub/a"), Perms::READ).is_err());
    assert_eq!(t.rules().len(), 2);
}

#[test]
fn dotdot_cannot_change_the_rule() {
    let t = mirror();
    // What the session checks is the normalised path, which is also what the
    // fs layer opens: `..` has already been taken out.
    let cwd = vp("/incoming/private");
    let up = cwd.resolve("../../pub/x").unwrap();
    assert_eq!(up, vp("/pub/x"));
    assert_eq!(
        t.check(&up, Perms::WRITE).unwrap_err().to_string(),
        "no write permission in /"
    );
    let back_in = vp("/incoming").resolve("a/../private/secret").unwrap();
    assert!(t.check(&back_in, Perms::READ).is_err());
    let clamp = vp("/").resolve("../../../incoming/private/..").unwrap();
    assert_eq!(clamp, vp("/incoming"));
    assert!(t.check(&clamp, Perms::LIST).is_ok());
}

#[test]
fn upload_only_creates_directly_in_the_directory() {
    let t = mirror();
    assert_eq!(
        t.check(&vp("/drop/new"), Perms::WRITE),
        Ok(Access::CreateOnly)
    );
    assert!(t.check_full(&vp("/drop/new"), Perms::WRITE).is_err());
    for (path, need) in [
        ("/drop", Perms::LIST),
        ("/drop", Perms::WRITE),
        ("/drop/sub/x", Perms::WRITE),
        ("/drop/x", Perms::READ),
        ("/drop/x", Perms::APPEND),
        ("/drop/x", Perms::WRITE.with(Perms::APPEND)),
        ("/drop/x", Perms::WRITE.with(Perms::COPY)),
        ("/drop/x", Perms::DELETE),
    ] {
        assert_eq!(
            t.check(&vp(path), need),
            Err(Denied::UploadOnly { rule: vp("/drop") }),
            "{path} {need:?}"
        );
    }
    assert!(t.may_enter(&vp("/drop")).is_ok());
    assert!(t.may_enter(&vp("/incoming/private")).is_err());
    // With write as well, upload_only changes nothing.
    let both = PathRules::uniform(Perms::WRITE.with(Perms::UPLOAD_ONLY));
    assert_eq!(both.check(&vp("/x"), Perms::WRITE), Ok(Access::Full));
    // The anonymous drop-box is this shape.
    let anon = PathRules::dropbox(vp("/incoming"));
    assert_eq!(anon.check(&vp("/pub/f"), Perms::READ), Ok(Access::Full));
    assert_eq!(
        anon.check(&vp("/incoming/f"), Perms::WRITE),
        Ok(Access::CreateOnly)
    );
    assert!(anon.check(&vp("/incoming2"), Perms::LIST).is_ok());
}

#[test]
fn rename_needs_rename_at_source_and_write_at_destination() {
    let t = PathRules::new([
        (vp("/"), p("list,read")),
        (vp("/up"), p("list,read,write,rename")),
        (vp("/wo"), p("list,write")),
        (vp("/ro"), p("list,read,rename")),
        (vp("/drop"), Perms::UPLOAD_ONLY),
    ]);
    assert!(t.check_rename(&vp("/up/a"), &vp("/up/b")).is_ok());
    // Into a directory that may be written but not renamed in: fine.
    assert!(t.check_rename(&vp("/up/a"), &vp("/wo/a")).is_ok());
    // Out of a directory without rename: refused at the source.
    assert_eq!(
        t.check_rename(&vp("/wo/a"), &vp("/up/a")),
        Err(Denied::Missing {
            missing: Perms::RENAME,
            rule: vp("/wo")
        })
    );
    assert!(t.check_rename_from(&vp("/wo/a")).is_err());
    // Into a directory without write: refused at the destination.
    assert_eq!(
        t.check_rename(&vp("/up/a"), &vp("/ro/a")),
        Err(Denied::Missing {
            missing: Perms::WRITE,
            rule: vp("/ro")
        })
    );
    assert!(t.check_rename(&vp("/ro/a"), &vp("/ro/b")).is_err());
    // Rename replaces existing names: an upload-only target will not do.
    assert!(t.check_rename(&vp("/up/a"), &vp("/drop/a")).is_err());
    assert!(t.check_rename(&vp("/up/a"), &vp("/pub/a")).is_err());
}

#[test]
fn paths_with_their_own_rules_cannot_be_moved() {
    let t = mirror().with_fixed(vp("/incoming/shared"));
    let fixed = |s: &str| Err(Denied::Fixed { path: vp(s) });
    // Moving /incoming/a is fine; moving the private subtree, or a parent of
    // it, would carry its files out from under their rule.
    assert!(t
        .check_rename(&vp("/incoming/a"), &vp("/incoming/b"))
        .is_ok());
    assert_eq!(t.check_rename_from(&vp("/incoming")), fixed("/incoming"));
    let t2 = t.clone().with_rule(vp("/"), p("all"));
    assert!(t2.check_rename_from(&vp("/pub")).is_ok());
    assert_eq!(t2.check_rename_from(&vp("/incoming")), fixed("/incoming"));
    let nested = t2.clone().with_rule(vp("/a/b/c"), p("ro"));
    assert_eq!(nested.check_rename_from(&vp("/a")), fixed("/a/b/c"));
    assert!(nested.check_rename_from(&vp("/a/bc")).is_ok());
    assert_eq!(
        t2.check_rename_from(&vp("/incoming/private")),
        Err(Denied::Missing {
            missing: Perms::RENAME,
            rule: vp("/incoming/private")
        })
    );
    let t3 = t2.with_rule(vp("/incoming/private"), p("all"));
    assert_eq!(
        t3.check_rename_from(&vp("/incoming/private")),
        fixed("/incoming/private")
    );
    // Nor can anything be renamed over such a path.
    assert_eq!(
        t3.check_rename(&vp("/incoming/a"), &vp("/incoming/private")),
        fixed("/incoming/private")
    );
    // A virtual folder is fixed as well.
    assert_eq!(
        t3.check_rename(&vp("/incoming/a"), &vp("/incoming/shared")),
        fixed("/incoming/shared")
    );
    assert!(t3
        .check_rename(&vp("/incoming/a"), &vp("/incoming/shared2"))
        .is_ok());
}

#[test]
fn copy_needs_read_at_source_and_write_at_destination() {
    // SITE CPFR asks READ|COPY at the source, CPTO WRITE|COPY at the target.
    let t = PathRules::new([
        (vp("/"), p("list,read,copy")),
        (vp("/up"), p("all")),
        (vp("/secret"), p("list,copy")),
        (vp("/drop"), Perms::UPLOAD_ONLY),
    ]);
    let src = Perms::READ.with(Perms::COPY);
    let dst = Perms::WRITE.with(Perms::COPY);
    assert!(t.check_full(&vp("/pub/f"), src).is_ok());
    assert!(t.check_full(&vp("/up/f"), dst).is_ok());
    assert!(t.check_full(&vp("/pub/f"), dst).is_err());
    assert_eq!(
        t.check_full(&vp("/secret/f"), src),
        Err(Denied::Missing {
            missing: Perms::READ,
            rule: vp("/secret")
        })
    );
    // The copy overwrites: an upload-only target is refused.
    assert!(t.check(&vp("/drop/f"), dst).is_err());
}

#[test]
fn denial_texts() {
    let t = mirror();
    let e = |path: &str, need| t.check(&vp(path), need).unwrap_err().to_string();
    assert_eq!(e("/pub/x", Perms::WRITE), "no write permission in /");
    assert_eq!(
        e("/pub/x", Perms::WRITE.with(Perms::APPEND)),
        "no write+append permission in /"
    );
    assert_eq!(
        e("/drop/x", Perms::READ),
        "/drop is upload-only (new files only)"
    );
    assert_eq!(
        Denied::Fixed {
            path: vp("/incoming/private")
        }
        .to_string(),
        "/incoming/private has its own access rules and cannot be moved"
    );
}
