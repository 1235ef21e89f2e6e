//! Both ends in memory, no sockets: the certificate checks, the handshake,
//! and the resumption binding a data connection is judged by (RFC 4217 §10
//! leaves the binding to the server; this is ours).

use std::io::{Read, Write};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use super::{AnyCert, Fed, TlsConfigs, TlsError, TlsStream};

pub(super) const CERT: &[u8] = include_bytes!("testdata/cert.pem");
pub(super) const KEY: &[u8] = include_bytes!("testdata/key.pem");
const OTHER_KEY: &[u8] = include_bytes!("testdata/other_key.pem");

/// A client config with its own session store (one per simulated client).
fn client(version: &'static rustls::SupportedProtocolVersion) -> Arc<ClientConfig> {
    let provider = Arc::new(super::provider());
    let cfg = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[version])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    Arc::new(cfg)
}

/// Moves records both ways until neither side has anything to send.
/// Returns false when the server failed.
pub(super) fn pump(c: &mut ClientConnection, s: &mut TlsStream, plain: &mut Vec<u8>) -> bool {
    for _ in 0..20 {
        let mut moved = false;
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            moved = true;
            if s.feed(&buf, plain) == Fed::Failed {
                return false;
            }
        }
        let mut out = Vec::new();
        s.take_ciphertext(&mut out);
        if !out.is_empty() {
            moved = true;
            let mut rd = &out[..];
            while !rd.is_empty() {
                c.read_tls(&mut rd).unwrap();
                c.process_new_packets().unwrap();
            }
        }
        if !moved {
            return true;
        }
    }
    true
}

pub(super) fn connect(cfg: &Arc<ClientConfig>) -> ClientConnection {
    ClientConnection::new(cfg.clone(), ServerName::try_from("localhost").unwrap()).unwrap()
}

#[test]
fn certificate_and_key_are_checked() {
    assert!(TlsConfigs::from_pem(CERT, KEY).is_ok());
    assert_eq!(
        TlsConfigs::from_pem(b"", KEY).err(),
        Some(TlsError::NoCertificate)
    );
    assert_eq!(
        TlsConfigs::from_pem(CERT, b"junk").err(),
        Some(TlsError::NoKey)
    );
    // A key file holding a certificate is no key either.
    assert_eq!(
        TlsConfigs::from_pem(CERT, CERT).err(),
        Some(TlsError::NoKey)
    );
    assert!(matches!(
        TlsConfigs::from_pem(CERT, OTHER_KEY),
        Err(TlsError::KeyRejected(_))
    ));
}

#[test]
fn handshake_then_plaintext_both_ways() {
    let cfgs = TlsConfigs::from_pem(CERT, KEY).unwrap();
    let mut s = cfgs.session().unwrap().control_stream().unwrap();
    let cc = client(&rustls::version::TLS13);
    let mut c = connect(&cc);
    let mut plain = Vec::new();
    // Written before the handshake: held until it completes.
    s.write_plain(b"220 hello\r\n");
    assert!(pump(&mut c, &mut s, &mut plain));
    assert!(!s.is_handshaking());
    assert_eq!(s.version(), Some("TLSv1.3"));

    let mut got = vec![0u8; 64];
    let n = c.reader().read(&mut got).unwrap();
    assert_eq!(&got[..n], b"220 hello\r\n");
    c.writer().write_all(b"FEAT\r\n").unwrap();
    assert!(pump(&mut c, &mut s, &mut plain));
    assert_eq!(plain, b"FEAT\r\n");
    c.send_close_notify();
    assert!(pump(&mut c, &mut s, &mut plain));
    assert!(s.peer_closed());
}

/// A control session, then a data connection from the same client config.
fn resume(version: &'static rustls::SupportedProtocolVersion) {
    let cfgs = TlsConfigs::from_pem(CERT, KEY).unwrap();
    let (sess_a, sess_b) = (cfgs.session().unwrap(), cfgs.session().unwrap());
    assert_ne!(sess_a.tag, sess_b.tag);
    let (client_a, client_b) = (client(version), client(version));
    let mut plain = Vec::new();
    for (cfg, sess) in [(&client_a, &sess_a), (&client_b, &sess_b)] {
        let mut ctrl = sess.control_stream().unwrap();
        let mut c = connect(cfg);
        assert!(pump(&mut c, &mut ctrl, &mut plain));
        // TLS 1.3 tickets come after the handshake, with the first records.
        ctrl.write_plain(b"234 ok\r\n");
        assert!(pump(&mut c, &mut ctrl, &mut plain));
    }
    // Client A's data connections resume A's session. (A rustls client uses
    // each TLS 1.3 ticket once; the control connection sent four.)
    for _ in 0..4 {
        let mut data = sess_a.data_stream().unwrap();
        let mut c = connect(&client_a);
        assert!(pump(&mut c, &mut data, &mut plain));
        assert!(!data.is_handshaking());
        assert!(data.resumed_from(sess_a.tag), "{version:?}: resumed A");
    }
    // Client B's session presented to A's data connection: not resumed.
    let mut data = sess_a.data_stream().unwrap();
    let mut c = connect(&client_b);
    assert!(pump(&mut c, &mut data, &mut plain));
    assert!(!data.is_handshaking());
    assert!(!data.resumed_from(sess_a.tag));
    assert!(!data.resumed_from(sess_b.tag));
    // A stranger: a full handshake, bound to nobody; and it leaves with
    // nothing that would resume A's session on the next data connection.
    let stranger = client(version);
    for _ in 0..2 {
        let mut data = sess_a.data_stream().unwrap();
        let mut c = connect(&stranger);
        assert!(pump(&mut c, &mut data, &mut plain));
        assert!(!data.is_handshaking());
        assert!(
            !data.resumed_from(sess_a.tag),
            "{version:?}: stranger resumed"
        );
    }
}

#[test]
fn data_connection_resumes_its_own_session_tls13() {
    resume(&rustls::version::TLS13);
}

#[test]
fn data_connection_resumes_its_own_session_tls12() {
    resume(&rustls::version::TLS12);
}

#[test]
fn garbage_fails_the_handshake() {
    let cfgs = TlsConfigs::from_pem(CERT, KEY).unwrap();
    let mut s = cfgs.session().unwrap().data_stream().unwrap();
    let mut plain = Vec::new();
    assert_eq!(s.feed(b"USER anonymous\r\n", &mut plain), Fed::Failed);
    assert!(plain.is_empty());
}

#[test]
fn big_plaintext_comes_out_whole() {
    let cfgs = TlsConfigs::from_pem(CERT, KEY).unwrap();
    let mut s = cfgs.session().unwrap().data_stream().unwrap();
    let mut c = connect(&client(&rustls::version::TLS13));
    let mut plain = Vec::new();
    assert!(pump(&mut c, &mut s, &mut plain));
    c.set_buffer_limit(None);
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    c.writer().write_all(&data).unwrap();
    let mut buf = Vec::new();
    while c.wants_write() {
        c.write_tls(&mut buf).unwrap();
    }
    // Fed in one go: more than rustls' own 16 KiB plaintext buffer.
    assert_eq!(s.feed(&buf, &mut plain), Fed::Ok);
    assert_eq!(plain, data);
}

/// A client config offering `alpn`.
fn client_alpn(alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut cfg = (*client(&rustls::version::TLS13)).clone();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(cfg)
}

// ALPN "ftp" (IANA) is accepted; a client offering only another protocol is
// refused; a client offering none is served.
#[test]
fn alpn_ftp() {
    let cfgs = TlsConfigs::from_pem(CERT, KEY).unwrap();
    let mut plain = Vec::new();
    let mut s = cfgs.session().unwrap().control_stream().unwrap();
    let mut c = connect(&client_alpn(&[b"ftp"]));
    assert!(pump(&mut c, &mut s, &mut plain));
    assert!(!s.is_handshaking());
    assert_eq!(c.alpn_protocol(), Some(&b"ftp"[..]));
    let mut s = cfgs.session().unwrap().control_stream().unwrap();
    let mut c = connect(&client_alpn(&[b"h2"]));
    assert!(!pump(&mut c, &mut s, &mut plain), "h2 only: refused");
    let mut s = cfgs.session().unwrap().control_stream().unwrap();
    let mut c = connect(&client_alpn(&[]));
    assert!(pump(&mut c, &mut s, &mut plain));
    assert!(!s.is_handshaking());
}
