//! Tests of [`AuthPolicy::authenticate`].

use super::*;
use crate::proto::perms::Perms;

const SHA: &str = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";

fn policy(anonymous: Option<Arc<PathRules>>) -> AuthPolicy {
    let argon = hash_password("alicepw");
    let text = format!("alice:{argon}:/home/alice:all\nbob:{SHA}:/home/bob:ro\n");
    AuthPolicy {
        anonymous,
        root: PathBuf::from("/srv/ftp"),
        users: Some(Arc::new(UserDb::parse(&text).unwrap())),
        anon_limits: UserLimits::default(),
    }
}

fn read_only() -> Arc<PathRules> {
    Arc::new(PathRules::uniform(Perms::READ_ONLY))
}

#[test]
fn anonymous_modes() {
    let on = AuthPolicy {
        anonymous: Some(read_only()),
        root: PathBuf::from("/srv/ftp"),
        users: None,
        anon_limits: UserLimits {
            quota_bytes: Some(5),
            ..UserLimits::default()
        },
    };
    let g = on.authenticate("FTP", "me@example.org").unwrap();
    assert_eq!(
        g,
        Grant {
            user: "anonymous".into(),
            anonymous: true,
            scope: Scope {
                home: PathBuf::from("/srv/ftp"),
                rules: read_only(),
                folders: Vec::new(),
                limits: UserLimits {
                    quota_bytes: Some(5),
                    ..UserLimits::default()
                },
            },
        }
    );
    assert_eq!(on.authenticate("Anonymous", "").unwrap().user, "anonymous");
    let off = AuthPolicy {
        anonymous: None,
        ..on.clone()
    };
    assert_eq!(
        off.authenticate("anonymous", "x"),
        Err(AuthError::UnknownUser)
    );
    // No users file: every named user is unknown.
    assert_eq!(on.authenticate("alice", "x"), Err(AuthError::UnknownUser));
}

#[test]
fn named_users() {
    let p = policy(None);
    let alice = p.authenticate("alice", "alicepw").unwrap();
    assert_eq!(
        (alice.user.as_str(), alice.anonymous, &*alice.scope.rules),
        ("alice", false, &PathRules::uniform(Perms::ALL))
    );
    assert_eq!(alice.scope.home, PathBuf::from("/home/alice"));
    assert_eq!(
        p.authenticate("alice", "bobpw"),
        Err(AuthError::BadPassword)
    );
    let bob = p.authenticate("bob", "secret").unwrap();
    assert_eq!(
        (bob.scope.home, bob.scope.rules),
        (PathBuf::from("/home/bob"), read_only())
    );
    assert_eq!(
        p.authenticate("bob", "secret "),
        Err(AuthError::BadPassword)
    );
    assert_eq!(
        p.authenticate("carol", "secret"),
        Err(AuthError::UnknownUser)
    );
    assert_eq!(p.authenticate("Bob", "secret"), Err(AuthError::UnknownUser));
    let huge = "x".repeat(PASSWORD_LEN_MAX + 1);
    assert_eq!(p.authenticate("bob", &huge), Err(AuthError::BadPassword));
}

#[test]
fn dummy_hash_is_valid() {
    assert!(hash::is_supported_hash(DUMMY_HASH));
    assert_eq!(verify_password(DUMMY_HASH, ""), Ok(false));
}
