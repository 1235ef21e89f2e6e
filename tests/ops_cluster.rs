//! Two ringftpd nodes behind a real HAProxy (docs/cluster.md), set up as
//! `scripts/cluster-demo.sh` does (the HAProxy configuration is the
//! script's own): mode tcp, balance source, send-proxy-v2. curl downloads
//! in all four modes through it, from client addresses that land on each
//! node, byte-exact, and each node's event log names the real client, never
//! the balancer.
//!
//! Needs haproxy and curl (scripts/install-test-deps.sh) and root (the
//! EPSV data path is transparent: `usesrc clientip`). Skipped with a note
//! when one is missing, unless `RINGFTPD_REQUIRE_CLIENTS=1`.
//!
//! Passive ports: 26400-26439 (the script's), frontend: a free port.

mod support;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{
    run_limited, sha256_file, wait_file, write_pattern_file, Server, ServerOpts, TempDir,
};

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The balancer process, killed on drop.
struct Haproxy(Child);

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn connect_from(src: Ipv4Addr, to: SocketAddrV4) -> std::io::Result<TcpStream> {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    bind(fd.as_raw_fd(), &SockaddrIn::from(SocketAddrV4::new(src, 0)))?;
    connect(fd.as_raw_fd(), &SockaddrIn::from(to))?;
    Ok(TcpStream::from(fd))
}

/// The greeting a client from `src` gets through the balancer.
fn greeting_from(src: Ipv4Addr, front: SocketAddrV4) -> String {
    let s = connect_from(src, front).expect("connect to haproxy");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).expect("greeting");
    line
}

/// Waits until HAProxy accepts on `front` and relays a greeting.
fn wait_ready(front: SocketAddrV4, h: &mut Haproxy) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(s) = TcpStream::connect(front) {
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut line = String::new();
            if BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("220") {
                return;
            }
        }
        if let Ok(Some(st)) = h.0.try_wait() {
            panic!("haproxy exited: {st}");
        }
        assert!(Instant::now() < deadline, "haproxy never came up");
        std::thread::yield_now();
    }
}

#[test]
fn two_nodes_behind_haproxy_serve_all_four_modes_and_log_the_client() {
    let required = std::env::var("RINGFTPD_REQUIRE_CLIENTS").is_ok_and(|v| v == "1");
    for tool in ["haproxy", "curl"] {
        if !have(tool) {
            assert!(
                !required,
                "{tool} is missing: run scripts/install-test-deps.sh"
            );
            eprintln!("note: {tool} not installed; cluster test skipped");
            return;
        }
    }
    if !nix::unistd::geteuid().is_root() {
        assert!(!required, "the cluster test needs root (usesrc clientip)");
        eprintln!("note: not root; cluster test skipped (HAProxy's usesrc clientip)");
        return;
    }
    let dir = TempDir::new("cluster");
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let want = write_pattern_file(&root.join("f.bin"), (1 << 20) + 7, 11);
    let node = |name: &str, ip: &str, pasv: (u16, u16)| {
        Server::start(
            &root,
            ServerOpts::new(pasv)
                .cores(1)
                .listen(&format!("{ip}:0"))
                .arg("--pasv-address")
                .arg(ip)
                .arg("--proxy-from")
                .arg("127.0.0.4")
                .arg("--greeting")
                .arg(&format!("ringftpd node {name}"))
                .arg("--log-format")
                .arg("json")
                .arg("--log-file")
                .arg(dir.join(&format!("{name}.events")).to_str().unwrap()),
        )
    };
    let a = node("a", "127.0.0.2", (26400, 26419));
    let b = node("b", "127.0.0.3", (26420, 26439));
    let front = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        match l.local_addr().unwrap() {
            SocketAddr::V4(v) => v,
            SocketAddr::V6(_) => unreachable!(),
        }
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cluster-demo.sh");
    let cfg = run_limited(
        Command::new("sh").arg(&script).args([
            "--haproxy-config",
            &front.port().to_string(),
            &a.port.to_string(),
            &b.port.to_string(),
        ]),
        Duration::from_secs(30),
    );
    cfg.assert_ok("cluster-demo.sh --haproxy-config");
    let cfg_path = dir.join("haproxy.cfg");
    std::fs::write(&cfg_path, &cfg.stdout).unwrap();
    let mut h = Haproxy(
        Command::new("haproxy")
            .arg("-f")
            .arg(&cfg_path)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn haproxy"),
    );
    wait_ready(front, &mut h);

    // balance source: find one client address for each node.
    let mut clients: Vec<(char, Ipv4Addr)> = Vec::new();
    for last in std::iter::once(1).chain(10..60) {
        let src = Ipv4Addr::new(127, 0, 0, last);
        let g = greeting_from(src, front);
        let n = if g.contains("node a") { 'a' } else { 'b' };
        assert!(g.contains("node"), "{g:?}");
        if !clients.iter().any(|(m, _)| *m == n) {
            clients.push((n, src));
        }
        if clients.len() == 2 {
            break;
        }
    }
    assert_eq!(clients.len(), 2, "no client address reached both nodes");

    let url = format!("ftp://{front}/f.bin");
    for &(n, src) in &clients {
        let src_s = src.to_string();
        let modes: [(&str, Vec<&str>); 4] = [
            ("epsv", vec![]),
            // PASV straight to the node's --pasv-address.
            ("pasv", vec!["--disable-epsv", "--no-ftp-skip-pasv-ip"]),
            ("eprt", vec!["--ftp-port", &src_s]),
            ("port", vec!["--ftp-port", &src_s, "--disable-eprt"]),
        ];
        for (mode, args) in modes {
            let out = dir.join(&format!("{n}-{mode}.bin"));
            let r = run_limited(
                Command::new("curl")
                    .args(["-sS", "--max-time", "60", "--interface", &src_s])
                    .args(&args)
                    .arg("-o")
                    .arg(&out)
                    .arg(&url),
                Duration::from_secs(90),
            );
            r.assert_ok(&format!("curl {mode} from {src} (node {n})"));
            assert_eq!(sha256_file(&out), want, "{mode} from {src} (node {n})");
        }
        // The node's log: four downloads, each from the real client.
        let log = dir.join(&format!("{n}.events"));
        let text = wait_file(&log, |t| t.matches("\"event\":\"transfer\"").count() >= 4);
        let mut modes_seen = Vec::new();
        for l in text.lines() {
            let e: serde_json::Value = serde_json::from_str(l).unwrap();
            if e["event"] == "transfer" {
                let client = e["client"].as_str().unwrap();
                assert!(client.starts_with(&format!("{src}:")), "{l}");
                assert_eq!(e["result"], "ok", "{l}");
                modes_seen.push(e["mode"].as_str().unwrap().to_string());
            }
            if e["event"] == "session_open" && e["client"].as_str().unwrap().starts_with(&src_s) {
                assert!(
                    e["proxy"].as_str().unwrap().starts_with("127.0.0.4:"),
                    "{l}"
                );
            }
        }
        modes_seen.sort();
        assert_eq!(modes_seen, ["eprt", "epsv", "pasv", "port"], "{text}");
    }
    drop(h);
    drop(a);
    drop(b);
}
