use super::*;
use std::net::Ipv4Addr;

fn parse_all(chunks: &[&[u8]]) -> Result<Vec<Reply>, ReplyError> {
    let mut p = ReplyParser::default();
    let mut out = Vec::new();
    for c in chunks {
        p.push(c, &mut out)?;
    }
    Ok(out)
}

fn r(code: u16, text: &str) -> Reply {
    Reply {
        code,
        text: text.to_string(),
    }
}

#[test]
fn single_lines_any_chunking() {
    // RFC 959 §4.2: "CODE SP text CRLF"; bare LF is tolerated.
    let stream = b"220 hello\r\n331 pass\n230 \r\n200";
    let whole = parse_all(&[stream]).unwrap();
    assert_eq!(whole, vec![r(220, "hello"), r(331, "pass"), r(230, "")]);
    for split in 0..stream.len() {
        let (a, b) = stream.split_at(split);
        assert_eq!(parse_all(&[a, b]).unwrap(), whole, "split at {split}");
    }
}

#[test]
fn bare_code_line() {
    assert_eq!(parse_all(&[b"200\r\n"]).unwrap(), vec![r(200, "")]);
}

#[test]
fn multi_line_with_code_lookalikes() {
    // RFC 959 §4.2: only "same code SP" ends a multi-line reply.
    let s = b"220-Welcome\r\n  indented\r\n221 other code\r\n220-still going\r\n220 end\r\n";
    let out = parse_all(&[s]).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].code, 220);
    assert_eq!(
        out[0].text,
        "Welcome\n  indented\n221 other code\n220-still going\nend"
    );
}

#[test]
fn multi_line_byte_by_byte() {
    let s = b"211-Features:\r\n MDTM\r\n EPSV\r\n211 End\r\n226 done\r\n";
    let chunks: Vec<&[u8]> = s.chunks(1).collect();
    let out = parse_all(&chunks).unwrap();
    assert_eq!(
        out,
        vec![r(211, "Features:\n MDTM\n EPSV\nEnd"), r(226, "done")]
    );
}

#[test]
fn bad_lines_are_errors_not_panics() {
    for bad in [
        &b"hello\r\n"[..],
        b"22\r\n",
        b"2x0 a\r\n",
        b"220x\r\n",
        b"\r\n",
        b"\xff\xfe\r\n",
    ] {
        assert_eq!(parse_all(&[bad]), Err(ReplyError::BadLine), "{bad:?}");
    }
    let long = vec![b'2'; LINE_MAX_BYTES + 2];
    assert_eq!(parse_all(&[&long]), Err(ReplyError::TooLong));
}

#[test]
fn pasv_227_forms() {
    let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 51000);
    // RFC 959 form, RFC 1123 §4.1.2.6 forms without parentheses or with spaces.
    assert_eq!(
        parse_227("Entering Passive Mode (127,0,0,1,199,56)."),
        Some(a)
    );
    assert_eq!(parse_227("Entering Passive Mode 127,0,0,1,199,56"), Some(a));
    assert_eq!(parse_227("=127, 0, 0, 1, 199, 56"), Some(a));
    for bad in [
        "Entering Passive Mode",
        "(127,0,0,1,199)",
        "(300,0,0,1,1,1)",
        "(1,2,3,4,5,6,7)",
    ] {
        assert_eq!(parse_227(bad), None, "{bad}");
    }
}

#[test]
fn epsv_229_forms() {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let want = Some(SocketAddr::new(ip, 40001));
    // RFC 2428 §3: "(|||port|)", any delimiter.
    assert_eq!(
        parse_229("Entering Extended Passive Mode (|||40001|)", ip),
        want
    );
    assert_eq!(parse_229("ok (!!!40001!)", ip), want);
    for bad in [
        "(|||0|)",
        "(|||65536|)",
        "(||40001|)",
        "(|||40001)",
        "|||40001|",
        "(1114001|)",
        "(|||x|)",
    ] {
        assert_eq!(parse_229(bad, ip), None, "{bad}");
    }
}

#[test]
fn port_and_eprt_commands() {
    let a: SocketAddr = "127.0.0.2:50000".parse().unwrap();
    assert_eq!(port_command(a).unwrap(), "PORT 127,0,0,2,195,80\r\n");
    assert_eq!(eprt_command(a), "EPRT |1|127.0.0.2|50000|\r\n");
    let v6: SocketAddr = "[::1]:2121".parse().unwrap();
    assert_eq!(port_command(v6), None);
    assert_eq!(eprt_command(v6), "EPRT |2|::1|2121|\r\n");
    // What we write, the server's parser reads back.
    let arg = port_command(a).unwrap();
    assert_eq!(crate::proto::addr::parse_port(arg[5..].trim_end()), Some(a));
}
