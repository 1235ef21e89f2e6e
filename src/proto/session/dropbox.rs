//! The anonymous drop-box (`--anon-dropbox DIR`) as session scripts.
//!
//! The drop-box is no longer a special case in the session: it is the
//! permission table [`PathRules::dropbox`] (read-only everywhere, `upload_only`
//! in `DIR`), asked like any other (see `access.rs`). Anonymous sessions keep
//! read-only access outside it. Inside it (the directory and anything below)
//! they may only create new files directly in it with STOR or STOU: the upload
//! opens with O_CREAT|O_EXCL, so an existing name (file, symlink or directory)
//! is never overwritten (550). Listing, reading back, SIZE/MDTM/MLST/STAT/HASH,
//! SITE CPFR/CPTO, APPE, REST+STOR, RNFR/RNTO, DELE, MKD/RMD, MFMT and SITE
//! CHMOD there all get 550 (vsftpd's "chown uploads", proftpd's `<Limit READ>`
//! on an incoming directory serve the same purpose).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::{Action, Event, LoginOk, Now, Session, SessionConfig, StoreMode, TransferKind};
use crate::proto::path::VPath;
use crate::proto::rules::PathRules;

fn anon_with_dropbox() -> (Session, Now) {
    let now = Now {
        mono: Instant::now(),
        unix_secs: 0,
    };
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let local: SocketAddr = "127.0.0.1:2121".parse().unwrap();
    let mut s = Session::new(Arc::new(SessionConfig::default()), peer, local, now);
    s.handle_input(b"USER anonymous\r\nPASS a@b\r\n", now);
    while s.poll_action().is_some() {}
    let dir = VPath::root().resolve("/incoming").unwrap();
    let ok = LoginOk {
        user: "anonymous".into(),
        anonymous: true,
        rules: Arc::new(PathRules::dropbox(dir)),
        quota: None,
        rates: Default::default(),
    };
    s.handle_event(Event::Login(Some(ok)), now);
    s.take_output();
    // Passive mode, so transfers get as far as asking for a transfer.
    (s, now)
}

fn send(s: &mut Session, now: Now, line: &str) -> String {
    s.handle_input(format!("{line}\r\n").as_bytes(), now);
    s.take_output()
        .map(|o| String::from_utf8(o).unwrap())
        .unwrap_or_default()
}

fn pasv(s: &mut Session, now: Now) {
    send(s, now, "PASV");
    assert_eq!(s.poll_action(), Some(Action::OpenPassive));
    s.handle_event(Event::PassiveOpened(Some(50000)), now);
    s.take_output();
}

#[test]
fn upload_into_the_dropbox_creates_only() {
    let (mut s, now) = anon_with_dropbox();
    pasv(&mut s, now);
    assert_eq!(send(&mut s, now, "STOR /incoming/new.txt"), "");
    let Some(Action::Transfer(t)) = s.poll_action() else {
        panic!("no transfer")
    };
    assert!(matches!(
        t.kind,
        TransferKind::Store {
            mode: StoreMode::CreateNew,
            ..
        }
    ));
}

#[test]
fn everything_else_in_the_dropbox_is_refused() {
    let (mut s, now) = anon_with_dropbox();
    for cmd in [
        "LIST /incoming",
        "NLST /incoming",
        "MLSD /incoming",
        "RETR /incoming/x",
        "SIZE /incoming/x",
        "HASH /incoming/x",
        "SITE CPFR /incoming/x",
        "MDTM /incoming/x",
        "MLST /incoming/x",
        "STAT /incoming",
        "APPE /incoming/x",
        "DELE /incoming/x",
        "RNFR /incoming/x",
        "MKD /incoming/d",
        "STOR /incoming/sub/x",
        "STOR /incoming",
        "STOR /elsewhere",
        "SITE CHMOD 777 /incoming/x",
    ] {
        pasv(&mut s, now);
        let r = send(&mut s, now, cmd);
        assert!(r.starts_with("550"), "{cmd}: {r}");
        assert_eq!(s.poll_action(), None, "{cmd} must not reach the server");
    }
    let r = send(&mut s, now, "REST 10");
    assert!(r.starts_with("350"));
    assert!(
        send(&mut s, now, "STOR /incoming/x").starts_with("550"),
        "REST+STOR is an overwrite"
    );
}

#[test]
fn reading_outside_the_dropbox_still_works() {
    let (mut s, now) = anon_with_dropbox();
    pasv(&mut s, now);
    assert_eq!(send(&mut s, now, "RETR /pub/file"), "");
    assert!(matches!(s.poll_action(), Some(Action::Transfer(_))));
    // A sibling whose name starts with the drop-box's is not inside it.
    let (mut s, now) = anon_with_dropbox();
    pasv(&mut s, now);
    assert_eq!(send(&mut s, now, "LIST /incoming2"), "");
}
