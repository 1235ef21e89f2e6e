//! Tests of the config file: every flag has a key (and the example shows
//! it), merging with the command line, and the exact one-line errors.

use std::path::Path;

use super::file::parse;
use super::flags::flag_keys;
use super::*;
use crate::proto::path::VPath;

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$K50qEiCLg2mJJFrjYT8wFg$gxpFtKVw34OspxCSpTRf7pQso1ggHMuK/t5wx66pRHU";

const EXAMPLE: &str = include_str!("../../docs/ringftpd.example.toml");

fn err(text: &str) -> String {
    parse(Path::new("t.toml"), text, &command())
        .unwrap_err()
        .to_string()
}

fn vp(s: &str) -> VPath {
    VPath::root().resolve(s).unwrap()
}

/// A temp dir for tests that need a real root; removed on drop.
struct Dir(std::path::PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("ringftpd-config-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join("incoming")).unwrap();
        Dir(p)
    }

    fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
        let f = self.0.join(name);
        std::fs::write(&f, text).unwrap();
        f
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn argv(list: &[&str]) -> Vec<OsString> {
    std::iter::once("ringftpd")
        .chain(list.iter().copied())
        .map(OsString::from)
        .collect()
}

#[test]
fn every_flag_has_a_key_and_the_example_shows_it() {
    let cmd = command();
    let keys = flag_keys(&cmd);
    for a in cmd.get_arguments() {
        let id = a.get_id().as_str();
        if ["help", "version", CONFIG_ID].contains(&id) || a.is_hide_set() {
            continue;
        }
        let long = a
            .get_long()
            .unwrap_or_else(|| panic!("argument {id} has no --long name"));
        let key = long.replace('-', "_");
        assert!(keys.iter().any(|k| k.key == key), "--{long} has no key");
        assert!(
            !SECTIONS.contains(&key.as_str()),
            "--{long} clashes with a section"
        );
        let shown = EXAMPLE
            .lines()
            .map(|l| l.trim_start_matches('#').trim_start())
            .any(|l| l.starts_with(&format!("{key} =")));
        assert!(
            shown,
            "docs/ringftpd.example.toml does not show key '{key}' (--{long}): \
             add it (commented out if its example value cannot load anywhere)"
        );
    }
    for k in RELOADED_KEYS {
        assert!(keys.iter().any(|f| f.key == k), "{k}");
    }
}

#[test]
fn the_example_loads() {
    let f = parse(Path::new("example"), EXAMPLE, &command()).unwrap();
    let (bench, _) = &f.users[0];
    assert_eq!(bench.name, "bench");
    assert_eq!(bench.scope.folders[0].path, vp("/shared"));
    assert!(bench
        .scope
        .rules
        .check_full(&vp("/incoming/x"), Perms::WRITE)
        .is_ok());
    assert!(bench
        .scope
        .rules
        .check(&vp("/incoming/private/x"), Perms::READ)
        .is_err());
    let anon = f.anonymous.unwrap().rules.unwrap();
    assert_eq!(
        anon.check(&vp("/incoming/new"), Perms::WRITE),
        Ok(crate::proto::rules::Access::CreateOnly)
    );
    // And passes every start-up check with a root that exists.
    let d = Dir::new("example");
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ringftpd.example.toml");
    let root = d.0.to_str().unwrap().to_string();
    let shown = check_config(&ex, &argv(&["--root", &root])[1..]).unwrap();
    assert!(shown.contains("password_hash = \"(elided)\""), "{shown}");
    assert!(shown.contains("\nquota_files = 100000\n"), "{shown}");
    assert!(
        shown.contains("\nupload_rate_bytes_per_sec = 1048576\n"),
        "{shown}"
    );
    assert!(!shown.contains("$argon2id$"), "{shown}");
}

#[test]
fn the_brief_s_user_shape_loads() {
    let text = format!(
        r#"
[anonymous]
enabled = true
permissions = {{ "/" = ["list", "read"] }}

[[user]]
name = "bench"
password_hash = "{HASH}"
home = "/srv/ftp"
permissions = {{ "/" = ["list", "read"], "/incoming" = ["list", "read", "write", "append", "delete", "rename", "mkdir", "copy", "chmod"] }}
"#
    );
    let f = parse(Path::new("t.toml"), &text, &command()).unwrap();
    assert_eq!(f.users.len(), 1);
    assert_eq!(f.users[0].1, 7, "line of the name");
}

#[test]
fn exact_errors_with_their_lines() {
    let user = |name: &str, hash: &str, home: &str, perms: &str| {
        format!(
            "[[user]]\nname = \"{name}\"\npassword_hash = \"{hash}\"\nhome = \"{home}\"\npermissions = {perms}\n"
        )
    };
    let ok = user("a", HASH, "/h", "{ \"/\" = [\"all\"] }");
    for (text, want) in [
        ("root = \"/x\"\nbogus = 1\n".to_string(), "config t.toml:2: key 'bogus': unknown key"),
        ("sessions-max = 5\n".to_string(), "config t.toml:1: key 'sessions-max': unknown key (write 'sessions_max')"),
        ("# c\nsessions_max = \"lots\"\n".to_string(), "config t.toml:2: key 'sessions_max': expected an integer, found string"),
        ("\n\nverbose = 1\n".to_string(), "config t.toml:3: key 'verbose': expected true or false, found integer"),
        ("listen = [\"127.0.0.1:0\", \"nowhere\"]\n".to_string(), "config t.toml:1: key 'listen': invalid value 'nowhere': invalid socket address syntax"),
        ("retr_path = \"teleport\"\n".to_string(), "config t.toml:1: key 'retr_path': invalid value 'teleport' [possible values: sendfile, splice]"),
        ("pasv_ports = \"80-90\"\n".to_string(), "config t.toml:1: key 'pasv_ports': invalid value '80-90': range 80-90: need 1024 <= LOW <= HIGH"),
        ("a = 1\na = 2\n".to_string(), "config t.toml:2: key 'a': duplicate key"),
        (format!("{ok}\n{ok}"), "config t.toml:8: key 'user.name': duplicate user 'a' (first on line 2)"),
        (user("a", HASH, "/h", "{ \"/\" = [\"list\", \"fly\"] }"), "config t.toml:5: key 'user.permissions': /: unknown permission 'fly'"),
        (user("a", HASH, "srv/a", "{}"), "config t.toml:4: key 'user.home': home must be an absolute path"),
        (user("a", "hunter2", "/h", "{}"), "config t.toml:3: key 'user.password_hash': unsupported hash (want $argon2id$ or $6$; plain text is refused)"),
        (user("ftp", HASH, "/h", "{}"), "config t.toml:2: key 'user.name': user name 'ftp' is reserved for anonymous"),
        (user("a", HASH, "/h", "{ \"incoming\" = [] }"), "config t.toml:5: key 'user.permissions': path 'incoming' must be absolute and normalised (like /incoming)"),
        (user("a", HASH, "/h", "{ \"/a/../b\" = [] }"), "config t.toml:5: key 'user.permissions': path '/a/../b' must be absolute and normalised (like /incoming)"),
        ("[[user]]\nname = \"a\"\n".to_string(), "config t.toml:1: key 'user': missing key 'permissions'"),
        (format!("{ok}nick = \"x\"\n"), "config t.toml:6: key 'user.nick': unknown key"),
        (format!("{ok}[[user.folder]]\npath = \"/\"\nhost = \"/srv\"\n"), "config t.toml:7: key 'user.folder.path': '/' is the root or another folder's path"),
        (format!("{ok}[[user.folder]]\npath = \"/s\"\nhost = \"srv\"\n"), "config t.toml:8: key 'user.folder.host': must be an absolute path"),
        ("[anonymous]\nenabled = \"yes\"\n".to_string(), "config t.toml:2: key 'anonymous.enabled': expected true or false, found string"),
        ("[user]\nname = \"a\"\n".to_string(), "config t.toml:1: key 'user': expected [[user]] tables (an array of tables)"),
    ] {
        assert_eq!(err(&text), want, "{text}");
    }
}

#[test]
fn command_line_overrides_the_file() {
    let d = Dir::new("merge");
    let root = d.0.to_str().unwrap().to_string();
    let f = d.write(
        "c.toml",
        &format!(
            "root = \"{root}\"\nlisten = [\"127.0.0.1:0\", \"127.0.0.2:0\"]\nsessions_max = 7\n\
             verbose = true\ngreeting = \"from the file\"\n"
        ),
    );
    let file = f.to_str().unwrap();
    let cfg = server_config(&argv(&[
        "--config",
        file,
        "--sessions-max",
        "9",
        "--listen",
        "[::1]:0",
    ]))
    .unwrap();
    assert_eq!(cfg.args.sessions_max, 9);
    assert_eq!(cfg.args.listen, vec!["[::1]:0".parse().unwrap()]);
    assert!(cfg.args.verbose);
    assert_eq!(cfg.args.greeting, "from the file");
    let cfg = server_config(&argv(&["--config", file])).unwrap();
    assert_eq!(cfg.args.listen.len(), 2);
    assert_eq!(cfg.args.sessions_max, 7);
    // Start-up checks on a file value name the key and line.
    let bad = d.write("bad.toml", &format!("root = \"{root}\"\ncores = 0\n"));
    let e = server_config(&argv(&["--config", bad.to_str().unwrap()])).unwrap_err();
    let want = format!(
        "config {}:2: key 'cores': --cores 0: need 1..=1024",
        bad.display()
    );
    assert_eq!(e, Exit::Error(want));
    // The same value from the command line is the command line's mistake.
    let e = server_config(&argv(&["--config", file, "--cores", "0"])).unwrap_err();
    assert_eq!(e, Exit::Error("--cores 0: need 1..=1024".into()));
}

#[test]
fn policy_from_sections_and_flags() {
    let d = Dir::new("policy");
    let root = d.0.to_str().unwrap().to_string();
    let users = d.write("users", &format!("old:{HASH}:/h:ro\n"));
    let text = format!(
        "root = \"{root}\"\nusers = \"{}\"\n\n[anonymous]\npermissions = {{ \"/\" = [\"list\"] }}\n\n\
         [[user]]\nname = \"new\"\npassword_hash = \"{HASH}\"\nhome = \"/h\"\npermissions = {{}}\n",
        users.display()
    );
    let f = d.write("c.toml", &text);
    let file = f.to_str().unwrap();
    let p = server_config(&argv(&["--config", file, "--anon-dropbox", "incoming"]))
        .unwrap()
        .policy
        .load()
        .unwrap();
    let anon = p.anonymous.unwrap();
    assert!(anon.check(&vp("/pub"), Perms::LIST).is_ok());
    assert!(anon.check(&vp("/pub/f"), Perms::READ).is_err());
    assert!(anon.check(&vp("/incoming/f"), Perms::WRITE).is_ok());
    let db = p.users.unwrap();
    assert!(db.get("old").is_some() && db.get("new").is_some());
    let off = server_config(&argv(&["--config", file, "--no-anonymous"]))
        .unwrap()
        .policy
        .load()
        .unwrap();
    assert!(off.anonymous.is_none());
    // A name in both the users file and the config file.
    let both = d.write("both.toml", &text.replace("\"new\"", "\"old\""));
    let e = server_config(&argv(&["--config", both.to_str().unwrap()])).unwrap_err();
    assert_eq!(
        e,
        Exit::Error(format!(
            "config {}:8: key 'user.name': user 'old' is also in the users file (--users)",
            both.display()
        ))
    );
}

#[test]
fn quota_and_rate_keys_load_into_the_limits() {
    let text = format!(
        r#"
[anonymous]
permissions = {{ "/" = ["list", "read"], "/incoming" = ["upload_only"] }}
quota_bytes = 1000
upload_rate_bytes_per_sec = 0

[[user]]
name = "bench"
password_hash = "{HASH}"
home = "/srv/ftp"
permissions = {{ "/" = ["all"] }}
quota_bytes = 1048576
quota_files = 100
download_rate_bytes_per_sec = 500000
upload_rate_bytes_per_sec = 250000
"#
    );
    let f = parse(Path::new("t.toml"), &text, &command()).unwrap();
    let anon = f.anonymous.unwrap().limits;
    assert_eq!(anon.quota_bytes, Some(1000));
    assert_eq!(anon.quota_files, None);
    assert_eq!(anon.upload_rate_bytes_per_sec, Some(0), "0: unlimited");
    assert_eq!(anon.download_rate_bytes_per_sec, None, "the flag's default");
    let u = f.users[0].0.scope.limits;
    assert_eq!(
        u,
        crate::proto::quota::UserLimits {
            quota_bytes: Some(1 << 20),
            quota_files: Some(100),
            download_rate_bytes_per_sec: Some(500_000),
            upload_rate_bytes_per_sec: Some(250_000),
        }
    );
    // The flags of the per-session defaults and the server-wide caps.
    let a = load(&argv(&[
        "--download-rate-bytes-per-sec",
        "1000",
        "--upload-rate-bytes-per-sec",
        "2000",
        "--server-download-rate-bytes-per-sec",
        "3000",
        "--server-upload-rate-bytes-per-sec",
        "4000",
    ]))
    .unwrap()
    .args;
    assert_eq!(
        (
            a.download_rate_bytes_per_sec,
            a.upload_rate_bytes_per_sec,
            a.server_download_rate_bytes_per_sec,
            a.server_upload_rate_bytes_per_sec
        ),
        (1000, 2000, 3000, 4000)
    );
}

#[test]
fn quota_and_rate_key_errors() {
    let user = |extra: &str| {
        format!(
            "[[user]]\nname = \"a\"\npassword_hash = \"{HASH}\"\nhome = \"/h\"\npermissions = {{}}\n{extra}\n"
        )
    };
    for (text, want) in [
        (user("quota_bytes = 0"), "config t.toml:6: key 'user.quota_bytes': must be at least 1 (leave the key out for no quota)"),
        (user("quota_files = -3"), "config t.toml:6: key 'user.quota_files': must be at least 1 (leave the key out for no quota)"),
        (user("quota_bytes = \"1G\""), "config t.toml:6: key 'user.quota_bytes': expected an integer, found string"),
        (user("download_rate_bytes_per_sec = -1"), "config t.toml:6: key 'user.download_rate_bytes_per_sec': must be 0 (unlimited) or more"),
        (user("upload_rate_bytes_per_sec = 1.5"), "config t.toml:6: key 'user.upload_rate_bytes_per_sec': expected an integer, found float"),
        ("[anonymous]\nquota_files = 0\n".to_string(), "config t.toml:2: key 'anonymous.quota_files': must be at least 1 (leave the key out for no quota)"),
        ("[anonymous]\nupload_rate_bytes_per_sec = true\n".to_string(), "config t.toml:2: key 'anonymous.upload_rate_bytes_per_sec': expected an integer, found boolean"),
        ("[anonymous]\nquota = 5\n".to_string(), "config t.toml:2: key 'anonymous.quota': unknown key"),
        ("download_rate_bytes_per_sec = -5\n".to_string(), "config t.toml:1: key 'download_rate_bytes_per_sec': invalid value '-5': invalid digit found in string"),
    ] {
        assert_eq!(err(&text), want, "{text}");
    }
}
