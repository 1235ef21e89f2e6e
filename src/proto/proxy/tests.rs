//! Every form of the spec's headers (HAProxy `proxy-protocol.txt` §2.1 and
//! §2.2), whole, truncated and split at every byte.

use std::net::SocketAddr;

use proptest::prelude::*;

use super::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn proxied(src: &str, dst: &str) -> Header {
    Header::Proxied {
        source: sa(src),
        destination: sa(dst),
    }
}

fn done(header: Header, consumed: usize) -> Parse {
    Parse::Done { header, consumed }
}

fn bad(e: Invalid) -> Parse {
    Parse::Invalid(e)
}

/// A v2 header: version/command byte, family/transport byte, then `body`.
fn v2(ver_cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
    let mut h = V2_SIGNATURE.to_vec();
    h.push(ver_cmd);
    h.push(fam);
    h.extend_from_slice(&(body.len() as u16).to_be_bytes());
    h.extend_from_slice(body);
    h
}

fn tcp4_body() -> Vec<u8> {
    let mut b = vec![192, 0, 2, 10, 198, 51, 100, 7];
    b.extend_from_slice(&56324u16.to_be_bytes());
    b.extend_from_slice(&21u16.to_be_bytes());
    b
}

fn tcp6_body() -> Vec<u8> {
    let src: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    let dst: std::net::Ipv6Addr = "2001:db8::ff".parse().unwrap();
    let mut b = src.octets().to_vec();
    b.extend_from_slice(&dst.octets());
    b.extend_from_slice(&40000u16.to_be_bytes());
    b.extend_from_slice(&2121u16.to_be_bytes());
    b
}

// ---- v1, §2.1 ----

#[test]
fn v1_tcp4() {
    // Ports at both ends of their range; bytes after the header are not
    // consumed.
    for (h, src, dst, consumed) in [
        (
            &b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"[..],
            "192.168.0.1:56324",
            "192.168.0.11:443",
            47,
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n",
            "1.2.3.4:0",
            "5.6.7.8:65535",
            36,
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nUSER anonymous\r\n",
            "1.2.3.4:1",
            "5.6.7.8:2",
            32,
        ),
    ] {
        assert_eq!(parse(h), done(proxied(src, dst), consumed), "{h:?}");
    }
}

#[test]
fn v1_tcp4_longest_form_is_56_bytes() {
    let h = b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
    assert_eq!(h.len(), 56);
    assert_eq!(
        parse(h),
        done(
            proxied("255.255.255.255:65535", "255.255.255.255:65535"),
            56
        )
    );
}

#[test]
fn v1_tcp6_compressed_full_and_mixed_case() {
    let h = b"PROXY TCP6 2001:db8::1 2001:DB8:0:0:0:0:0:FF 1 0\r\n";
    assert_eq!(
        parse(h),
        done(proxied("[2001:db8::1]:1", "[2001:db8::ff]:0"), h.len())
    );
    let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let h = format!("PROXY TCP6 {full} {full} 65535 65535\r\n");
    assert_eq!(h.len(), 104);
    let a = format!("[{full}]:65535");
    assert_eq!(parse(h.as_bytes()), done(proxied(&a, &a), 104));
}

#[test]
fn v1_unknown_short_and_with_ignored_fields() {
    assert_eq!(parse(b"PROXY UNKNOWN\r\n"), done(Header::Local, 15));
    let h = b"PROXY UNKNOWN whatever the sender puts here\r\n";
    assert_eq!(parse(h), done(Header::Local, h.len()));
}

#[test]
fn v1_worst_case_107_bytes_accepted_108_refused() {
    let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let h = format!("PROXY UNKNOWN {full} {full} 65535 65535\r\n");
    assert_eq!(h.len(), V1_HEADER_BYTES_MAX);
    assert_eq!(parse(h.as_bytes()), done(Header::Local, 107));
    let h = format!("PROXY UNKNOWN {full} {full} 65535 655350\r\n");
    assert_eq!(parse(h.as_bytes()), bad(Invalid::V1TooLong));
}

#[test]
fn v1_without_crlf_in_107_bytes_is_too_long() {
    let h = vec![b'A'; 200];
    let mut line = b"PROXY ".to_vec();
    line.extend_from_slice(&h);
    assert_eq!(parse(&line[..106]), Parse::NeedMore);
    assert_eq!(parse(&line[..107]), bad(Invalid::V1TooLong));
    assert_eq!(parse(&line), bad(Invalid::V1TooLong));
}

#[test]
fn v1_cr_or_lf_alone_refused() {
    assert_eq!(
        parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
        bad(Invalid::V1BadCharacter)
    );
    assert_eq!(
        parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"),
        bad(Invalid::V1BadCharacter)
    );
    // A CR at the end may still be followed by its LF.
    assert_eq!(parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"), Parse::NeedMore);
}

#[test]
fn v1_control_and_non_ascii_bytes_refused_at_once() {
    assert_eq!(parse(b"PROXY TCP4 1.2\t"), bad(Invalid::V1BadCharacter));
    assert_eq!(parse(b"PROXY \xc3\xa9"), bad(Invalid::V1BadCharacter));
    assert_eq!(parse(b"PROXY TCP4 \0"), bad(Invalid::V1BadCharacter));
}

#[test]
fn v1_malformed_fields_refused() {
    use Invalid::*;
    // Protocol names; field count and spacing; addresses canonical and of the
    // named family; ports decimal without leading zeros.
    for (h, want) in [
        (&b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"[..], V1BadProtocol),
        (b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", V1BadProtocol),
        (b"PROXY UNKNOWNX\r\n", V1BadProtocol),
        (b"PROXY \r\n", V1BadProtocol),
        (b"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", V1BadProtocol),
        (b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", V1BadProtocol),
        (b"PROXY TCP4\r\n", V1BadFields),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", V1BadFields),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", V1BadFields),
        (b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", V1BadFields),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", V1BadFields),
        (b"PROXY TCP4 \r\n", V1BadFields),
        (b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", V1BadAddress),
        (b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", V1BadAddress),
        (b"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", V1BadAddress),
        (b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n", V1BadAddress),
        (b"PROXY TCP4 1.2.3.4 ::1 1 2\r\n", V1BadAddress),
        (b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", V1BadAddress),
        (b"PROXY TCP6 ::1 1:2:3:4:5:6:7:8:9 1 2\r\n", V1BadAddress),
        (b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", V1BadAddress),
        (b"PROXY TCP4 localhost 5.6.7.8 1 2\r\n", V1BadAddress),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", V1BadPort),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", V1BadPort),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999999999\r\n", V1BadPort),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", V1BadPort),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", V1BadPort),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2\r\n", V1BadPort),
    ] {
        assert_eq!(parse(h), bad(want), "{h:?}");
    }
}

// ---- v2, §2.2 ----

#[test]
fn v2_tcp4_and_tcp6() {
    for (fam, body, src, dst, len) in [
        (0x11, tcp4_body(), "192.0.2.10:56324", "198.51.100.7:21", 28),
        (
            0x21,
            tcp6_body(),
            "[2001:db8::1]:40000",
            "[2001:db8::ff]:2121",
            52,
        ),
    ] {
        let h = v2(0x21, fam, &body);
        assert_eq!(h.len(), len);
        assert_eq!(parse(&h), done(proxied(src, dst), len));
    }
}

#[test]
fn v2_tlvs_are_skipped() {
    let mut body = tcp4_body();
    // PP2_TYPE_ALPN "ftp", PP2_TYPE_AUTHORITY "example.org", a NOOP.
    body.extend_from_slice(&[0x01, 0, 3, b'f', b't', b'p']);
    body.extend_from_slice(&[0x02, 0, 11]);
    body.extend_from_slice(b"example.org");
    body.extend_from_slice(&[0x04, 0, 2, 0, 0]);
    let mut h = v2(0x21, 0x11, &body);
    let len = h.len();
    h.extend_from_slice(b"USER x\r\n");
    assert_eq!(
        parse(&h),
        done(proxied("192.0.2.10:56324", "198.51.100.7:21"), len)
    );
}

#[test]
fn v2_local_with_and_without_address_block() {
    assert_eq!(parse(&v2(0x20, 0x00, &[])), done(Header::Local, 16));
    // §2.2: receivers "must not assume zero is presented for LOCAL".
    let h = v2(0x20, 0x11, &tcp4_body());
    assert_eq!(parse(&h), done(Header::Local, 28));
    // LOCAL ignores the family, so even an address block too short for it.
    assert_eq!(parse(&v2(0x20, 0x21, &[1, 2])), done(Header::Local, 18));
}

#[test]
fn v2_proxy_with_unserved_families_falls_back_to_local() {
    // UNSPEC family / transport, AF_UNIX (2 × 108 bytes), UDP over v4/v6.
    for (fam, body) in [
        (0x00u8, vec![]),
        (0x01, vec![]),
        (0x10, tcp4_body()),
        (0x20, tcp6_body()),
        (0x30, vec![]),
        (0x31, vec![0u8; 216]),
        (0x32, vec![0u8; 216]),
        (0x12, tcp4_body()),
        (0x22, tcp6_body()),
    ] {
        let h = v2(0x21, fam, &body);
        assert_eq!(parse(&h), done(Header::Local, h.len()), "fam {fam:#x}");
    }
}

#[test]
fn v2_unassigned_version_command_family_transport_refused() {
    let body = tcp4_body();
    assert_eq!(parse(&v2(0x11, 0x11, &body)), bad(Invalid::V2BadVersion));
    assert_eq!(parse(&v2(0x31, 0x11, &body)), bad(Invalid::V2BadVersion));
    assert_eq!(parse(&v2(0x22, 0x11, &body)), bad(Invalid::V2BadCommand));
    assert_eq!(parse(&v2(0x2f, 0x11, &body)), bad(Invalid::V2BadCommand));
    assert_eq!(parse(&v2(0x21, 0x41, &body)), bad(Invalid::V2BadFamily));
    assert_eq!(parse(&v2(0x21, 0xf1, &body)), bad(Invalid::V2BadFamily));
    assert_eq!(parse(&v2(0x21, 0x13, &body)), bad(Invalid::V2BadTransport));
    // Refused from the offending byte on, before the length is known.
    let h = v2(0x11, 0x11, &body);
    assert_eq!(parse(&h[..13]), bad(Invalid::V2BadVersion));
    let h = v2(0x21, 0x13, &body);
    assert_eq!(parse(&h[..14]), bad(Invalid::V2BadTransport));
}

#[test]
fn v2_length_shorter_than_the_address_block() {
    assert_eq!(
        parse(&v2(0x21, 0x11, &tcp4_body()[..11])),
        bad(Invalid::V2AddressTooShort)
    );
    assert_eq!(
        parse(&v2(0x21, 0x21, &tcp6_body()[..35])),
        bad(Invalid::V2AddressTooShort)
    );
    assert_eq!(parse(&v2(0x21, 0x11, &[])), bad(Invalid::V2AddressTooShort));
}

#[test]
fn v2_oversized_refused_from_the_length_field() {
    let mut h = V2_SIGNATURE.to_vec();
    h.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
    assert_eq!(parse(&h), bad(Invalid::V2TooLong));
    // The largest accepted, and one byte more.
    let mut body = tcp4_body();
    body.resize(V2_HEADER_BYTES_MAX - 16, 0);
    assert_eq!(
        parse(&v2(0x21, 0x11, &body)),
        done(
            proxied("192.0.2.10:56324", "198.51.100.7:21"),
            V2_HEADER_BYTES_MAX
        )
    );
    body.push(0);
    assert_eq!(parse(&v2(0x21, 0x11, &body)), bad(Invalid::V2TooLong));
}

#[test]
fn v2_signature_mismatch_anywhere_refused() {
    let h = v2(0x21, 0x11, &tcp4_body());
    for i in 1..12 {
        let mut g = h.clone();
        g[i] ^= 0x40;
        assert_eq!(parse(&g[..=i]), bad(Invalid::NotProxyProtocol), "byte {i}");
    }
}

// ---- garbage, truncation, splits ----

#[test]
fn not_proxy_protocol_refused_on_the_first_byte() {
    for h in [
        &b"USER anonymous\r\n"[..],
        b"GET / HTTP/1.1\r\n",
        b"\x16\x03\x01\x02\x00",
        b"proxy TCP4",
        b" PROXY",
        b"\0",
    ] {
        assert_eq!(parse(&h[..1]), bad(Invalid::NotProxyProtocol), "{h:?}");
        assert_eq!(parse(h), bad(Invalid::NotProxyProtocol), "{h:?}");
    }
    assert_eq!(parse(b"PROXX"), bad(Invalid::NotProxyProtocol));
    assert_eq!(parse(b"PROXY_"), bad(Invalid::NotProxyProtocol));
}

fn samples() -> Vec<(Vec<u8>, Header)> {
    let mut tlv = tcp4_body();
    tlv.extend_from_slice(&[0x05, 0, 4, 1, 2, 3, 4]);
    vec![
        (
            b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".to_vec(),
            proxied("192.168.0.1:56324", "192.168.0.11:443"),
        ),
        (
            b"PROXY TCP6 ::1 2001:db8::2 1024 21\r\n".to_vec(),
            proxied("[::1]:1024", "[2001:db8::2]:21"),
        ),
        (b"PROXY UNKNOWN\r\n".to_vec(), Header::Local),
        (
            v2(0x21, 0x11, &tcp4_body()),
            proxied("192.0.2.10:56324", "198.51.100.7:21"),
        ),
        (
            v2(0x21, 0x21, &tcp6_body()),
            proxied("[2001:db8::1]:40000", "[2001:db8::ff]:2121"),
        ),
        (v2(0x20, 0x00, &[]), Header::Local),
        (
            v2(0x21, 0x11, &tlv),
            proxied("192.0.2.10:56324", "198.51.100.7:21"),
        ),
    ]
}

#[test]
fn every_strict_prefix_needs_more() {
    for (h, _) in samples() {
        for i in 0..h.len() {
            assert_eq!(parse(&h[..i]), Parse::NeedMore, "{h:?} cut at {i}");
        }
    }
}

#[test]
fn decoder_at_every_split_point_with_data_after() {
    let tail = b"USER anonymous\r\n";
    for (h, header) in samples() {
        let mut stream = h.clone();
        stream.extend_from_slice(tail);
        for cut in 0..=stream.len() {
            let mut d = Decoder::new();
            let first = d.feed(&stream[..cut]);
            // `later`: bytes not yet fed when the verdict came.
            let (verdict, fed, later) = if cut >= h.len() {
                (first, &stream[..cut], &stream[cut..])
            } else {
                assert_eq!(first, Parse::NeedMore, "cut {cut}");
                (d.feed(&stream[cut..]), &stream[cut..], &[][..])
            };
            let Parse::Done {
                header: got,
                consumed,
            } = verdict
            else {
                panic!("{h:?} cut at {cut}: {verdict:?}");
            };
            assert_eq!(got, header);
            let mut after = fed[consumed..].to_vec();
            after.extend_from_slice(later);
            assert_eq!(after, tail, "cut {cut}");
        }
    }
}

#[test]
fn decoder_one_byte_at_a_time() {
    for (h, header) in samples() {
        let mut d = Decoder::new();
        for (i, b) in h.iter().enumerate() {
            let v = d.feed(std::slice::from_ref(b));
            if i + 1 < h.len() {
                assert_eq!(v, Parse::NeedMore);
                assert_eq!(d.held_bytes(), i + 1);
            } else {
                assert_eq!(v, done(header, 1));
            }
        }
        // Finished: a second header (or a caller bug) is not parsed again.
        assert_eq!(d.feed(&h), bad(Invalid::NotProxyProtocol));
    }
}

#[test]
fn decoder_refuses_garbage_and_stays_refused() {
    let mut d = Decoder::new();
    assert_eq!(d.feed(b"PRO"), Parse::NeedMore);
    assert_eq!(d.feed(b"XZ"), bad(Invalid::NotProxyProtocol));
    assert_eq!(d.feed(b"Y TCP4"), bad(Invalid::NotProxyProtocol));
    assert_eq!(d.held_bytes(), 0);
}

#[test]
fn decoder_holds_at_most_the_longest_header() {
    let mut d = Decoder::new();
    let mut h = V2_SIGNATURE.to_vec();
    h.extend_from_slice(&[0x21, 0x11]);
    h.extend_from_slice(&((V2_HEADER_BYTES_MAX - 16) as u16).to_be_bytes());
    assert_eq!(d.feed(&h), Parse::NeedMore);
    let chunk = vec![0u8; 1000];
    let mut verdict = Parse::NeedMore;
    for _ in 0..10 {
        verdict = d.feed(&chunk);
        assert!(d.held_bytes() <= V2_HEADER_BYTES_MAX);
        if verdict != Parse::NeedMore {
            break;
        }
    }
    // All-zero addresses, then zero TLV padding: a valid header.
    assert_eq!(
        verdict,
        done(
            proxied("0.0.0.0:0", "0.0.0.0:0"),
            V2_HEADER_BYTES_MAX - 16 - 4000
        )
    );
}

#[test]
fn invalid_reasons_have_text() {
    for e in [
        Invalid::NotProxyProtocol,
        Invalid::V1TooLong,
        Invalid::V2TooLong,
    ] {
        assert!(!e.to_string().is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_verdict(&bytes, parse(&bytes));
    }

    #[test]
    fn random_bytes_after_a_valid_start_never_panic(
        v in 0usize..3,
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut b = match v {
            0 => b"PROXY ".to_vec(),
            1 => {
                let mut s = V2_SIGNATURE.to_vec();
                s.push(0x21);
                s
            }
            _ => b"PROXY TCP4 ".to_vec(),
        };
        b.extend_from_slice(&bytes);
        check_verdict(&b, parse(&b));
    }

    #[test]
    fn random_chunks_agree_with_parse(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        cuts in proptest::collection::vec(0usize..200, 0..6),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort_unstable();
        let mut d = Decoder::new();
        let mut start = 0;
        let mut verdict = Parse::NeedMore;
        for end in cuts.into_iter().chain([bytes.len()]) {
            verdict = d.feed(&bytes[start..end]);
            if verdict != Parse::NeedMore {
                if let Parse::Done { consumed, .. } = verdict {
                    prop_assert!(consumed <= end - start);
                    // The header ended within this chunk, where `parse` says.
                    if let Parse::Done { consumed: whole, .. } = parse(&bytes) {
                        prop_assert_eq!(start + consumed, whole);
                    }
                }
                break;
            }
            start = end;
        }
        if verdict == Parse::NeedMore {
            prop_assert_eq!(parse(&bytes), Parse::NeedMore);
        }
    }
}

fn check_verdict(bytes: &[u8], v: Parse) {
    match v {
        Parse::NeedMore => assert!(bytes.len() < V2_HEADER_BYTES_MAX),
        Parse::Done { consumed, .. } => {
            assert!(consumed <= bytes.len() && consumed <= V2_HEADER_BYTES_MAX)
        }
        Parse::Invalid(_) => {}
    }
}
