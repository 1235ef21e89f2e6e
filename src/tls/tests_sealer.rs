//! `RecordSealer` against a real TLS client in memory: after the handshake
//! with our data config, the transmit secret goes to the sealer, and a
//! rustls client must read back exactly the plaintext sealed, in TLS 1.2
//! and 1.3, with every cipher suite rustls' ring provider offers (RFC 8446
//! §5.2-5.3, RFC 5288 §3, RFC 7905 §2), then see close_notify.

use std::io::Read;
use std::sync::Arc;

use rustls::{ClientConfig, ClientConnection, SupportedCipherSuite};

use super::tests::{connect, pump, CERT, KEY};
use super::{AnyCert, RecordSealer, SealError, TlsConfigs, RECORD_PLAIN_MAX_BYTES};

const RSA_CERT: &[u8] = include_bytes!("testdata/rsa_cert.pem");
const RSA_KEY: &[u8] = include_bytes!("testdata/rsa_key.pem");

/// A client offering `suite` alone (and its version).
fn client_for(suite: SupportedCipherSuite) -> Arc<ClientConfig> {
    let mut provider = super::provider();
    provider.cipher_suites = vec![suite];
    let provider = Arc::new(provider);
    let cfg = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[suite.version()])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    Arc::new(cfg)
}

/// A data connection's handshake with a client offering `suite`, then the
/// server's transmit direction handed to a sealer.
fn sealed(suite: SupportedCipherSuite) -> (ClientConnection, RecordSealer) {
    let ecdsa = format!("{:?}", suite.suite()).contains("ECDSA");
    let (cert, key) = match suite.version().version {
        rustls::ProtocolVersion::TLSv1_2 if !ecdsa => (RSA_CERT, RSA_KEY),
        _ => (CERT, KEY),
    };
    let cfgs = TlsConfigs::from_pem(cert, key).unwrap();
    let mut s = cfgs.session().unwrap().data_stream().unwrap();
    let mut c = connect(&client_for(suite));
    let mut plain = Vec::new();
    assert!(pump(&mut c, &mut s, &mut plain), "{suite:?}: handshake");
    assert!(!s.is_handshaking());
    assert_eq!(c.negotiated_cipher_suite(), Some(suite));
    assert!(s.sealable(), "{suite:?}: sealable");
    (c, s.into_sealer().expect("sealer"))
}

/// Feeds `records` to the client; returns the plaintext it reads.
fn client_reads(c: &mut ClientConnection, records: &[u8]) -> Vec<u8> {
    let mut rd = records;
    let mut got = Vec::new();
    while !rd.is_empty() {
        c.read_tls(&mut rd).unwrap();
        c.process_new_packets().unwrap();
        let mut buf = [0u8; 8192];
        loop {
            match c.reader().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("client read: {e}"),
            }
        }
    }
    got
}

/// The payload lengths of the records in `bytes` (headers walked).
fn record_lengths(mut bytes: &[u8]) -> Vec<usize> {
    let mut lens = Vec::new();
    while bytes.len() >= 5 {
        assert_eq!(&bytes[1..3], &[3, 3], "record version");
        let n = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
        lens.push(n);
        bytes = &bytes[5 + n..];
    }
    assert!(bytes.is_empty(), "a partial record");
    lens
}

fn round_trip(suite: SupportedCipherSuite) {
    let (mut c, mut sealer) = sealed(suite);
    let seq0 = sealer.seq();
    let mut records = 0u64;
    let mut out = Vec::new();
    // Several seals in a row: the sequence number carries over.
    for len in [0, 1, 16383, 16384, 16385, 100_000, 1] {
        let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        out.clear();
        sealer.seal(&plain, &mut out).unwrap();
        assert_eq!(out.len(), sealer.sealed_len(len), "{suite:?} {len}");
        let lens = record_lengths(&out);
        let n = len.div_ceil(RECORD_PLAIN_MAX_BYTES);
        assert_eq!(lens.len(), n, "{suite:?} {len}: full-size records");
        if n > 1 {
            // Every record but the last carries 16 KiB of plaintext.
            assert!(lens[..n - 1].iter().all(|&l| l == lens[0]));
            assert_eq!(lens[0], sealer.sealed_len(RECORD_PLAIN_MAX_BYTES) - 5);
        }
        records += n as u64;
        assert_eq!(client_reads(&mut c, &out), plain, "{suite:?} {len}");
        assert_eq!(sealer.seq(), seq0 + records);
    }
    out.clear();
    sealer.close_notify(&mut out).unwrap();
    let mut rd = &out[..];
    c.read_tls(&mut rd).unwrap();
    let st = c.process_new_packets().unwrap();
    assert!(st.peer_has_closed(), "{suite:?}: close_notify");
}

#[test]
fn every_ring_suite_round_trips_through_a_rustls_client() {
    let suites = super::provider().cipher_suites;
    assert_eq!(suites.len(), 9, "3 TLS 1.3 + 6 TLS 1.2 suites");
    for suite in suites {
        round_trip(suite);
    }
}

#[test]
fn control_connections_keep_their_secrets() {
    let cfgs = TlsConfigs::from_pem(CERT, KEY).unwrap();
    let mut s = cfgs.session().unwrap().control_stream().unwrap();
    let mut c = connect(&client_for(super::provider().cipher_suites[0]));
    assert!(pump(&mut c, &mut s, &mut Vec::new()));
    assert!(!s.is_handshaking());
    // rustls refuses: the control config does not let secrets out.
    assert!(s.into_sealer().is_none());
}

#[test]
fn not_before_the_handshake_is_done_or_sent() {
    let cfgs = TlsConfigs::from_pem(CERT, KEY).unwrap();
    let s = cfgs.session().unwrap().data_stream().unwrap();
    assert!(!s.sealable(), "handshaking");
    // Records still queued (close_notify) must go out through rustls first.
    let mut s = cfgs.session().unwrap().data_stream().unwrap();
    let mut c = connect(&client_for(super::provider().cipher_suites[0]));
    assert!(pump(&mut c, &mut s, &mut Vec::new()));
    s.write_plain(b"queued");
    assert!(!s.sealable(), "records queued");
}

#[test]
fn sequence_numbers_never_wrap() {
    for suite in super::provider().cipher_suites {
        let (_, mut sealer) = sealed(suite);
        sealer.set_seq(0xffff_ffff_ffff_0000);
        let mut out = b"kept".to_vec();
        assert_eq!(
            sealer.seal(&[1; 40_000], &mut out),
            Err(SealError::SequenceExhausted)
        );
        assert_eq!(
            sealer.close_notify(&mut out),
            Err(SealError::SequenceExhausted)
        );
        assert_eq!(out, b"kept", "{suite:?}: out untouched");
        // One short of the limit: one record goes, the next does not.
        sealer.set_seq(0xffff_ffff_ffff_0000 - 1);
        assert!(sealer.seal(&[1; 100], &mut out).is_ok());
        assert_eq!(
            sealer.seal(&[1; 100], &mut out),
            Err(SealError::SequenceExhausted)
        );
    }
}
