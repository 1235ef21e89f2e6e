//! The server's CPU time and memory from /proc: the process and every live
//! descendant (forking servers like vsftpd run one process per session), plus
//! the reaped children's times the kernel adds to cutime/cstime.

use std::collections::HashMap;

/// Parsed fields of /proc/PID/stat after the `(comm)`.
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and parentheses: split after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    Some(rest.split(' ').map(|f| f.parse().unwrap_or(0)).collect())
}

/// `pid` and all its live descendants.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            // Field 4 of stat (index 1 after comm) is the parent pid.
            if let Some(ppid) = stat_fields(p).and_then(|f| f.get(1).copied()) {
                children.entry(ppid as u32).or_default().push(p);
            }
        }
    }
    let mut out = vec![pid];
    let mut k = 0;
    while k < out.len() {
        if let Some(c) = children.get(&out[k]) {
            out.extend(c);
        }
        k += 1;
    }
    out
}

/// CPU seconds (user + system) of the tree, reaped children included.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let mut ticks = 0u64;
    for (k, p) in tree(pid).into_iter().enumerate() {
        let Some(f) = stat_fields(p) else { continue };
        // utime, stime are fields 14, 15 (indices 11, 12 after comm); cutime,
        // cstime 16, 17 — counted for the root only, children's own are above.
        ticks += f.get(11).unwrap_or(&0) + f.get(12).unwrap_or(&0);
        if k == 0 {
            ticks += f.get(13).unwrap_or(&0) + f.get(14).unwrap_or(&0);
        }
    }
    std::fs::metadata(format!("/proc/{pid}")).ok()?;
    Some(ticks as f64 / hz)
}

/// Resident and proportional set size of the tree, bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mem {
    pub rss_bytes: u64,
    pub pss_bytes: u64,
    pub processes: u64,
}

pub fn memory(pid: u32) -> Option<Mem> {
    std::fs::metadata(format!("/proc/{pid}")).ok()?;
    let mut m = Mem::default();
    for p in tree(pid) {
        let Ok(s) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) else {
            continue;
        };
        m.processes += 1;
        for line in s.lines() {
            let mut it = line.split_whitespace();
            let (Some(key), Some(kb)) = (it.next(), it.next().and_then(|v| v.parse::<u64>().ok()))
            else {
                continue;
            };
            match key {
                "Rss:" => m.rss_bytes += kb * 1024,
                "Pss:" => m.pss_bytes += kb * 1024,
                _ => {}
            }
        }
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_process_is_readable() {
        let me = std::process::id();
        assert!(super::cpu_secs(me).is_some());
        let m = super::memory(me).unwrap();
        assert!(m.rss_bytes > 0 && m.processes >= 1);
        assert_eq!(super::tree(me)[0], me);
    }
}
