//! Flags → [`ServerConfig`], checked once at start-up against each other and
//! the machine (errors are one line, for exit code 2).

use std::path::PathBuf;

use super::args::Args;
use super::policy::PolicySource;

/// The checked configuration a server runs with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub args: Args,
    /// The root, canonicalised.
    pub root: PathBuf,
    pub workers: usize,
    /// Users and permissions, built at start-up and on SIGHUP (from the
    /// flags unless `crate::config` installs a config file's source).
    pub policy: PolicySource,
    /// FTPS: the certificate and key, checked (`--tls-cert`, `--tls-key`).
    pub tls: Option<crate::tls::TlsConfigs>,
}

/// Sessions per worker at most when `--sessions-max` is 0 (auto).
pub const SESSIONS_MAX_AUTO_CAP: usize = 65_536;
/// RAM set aside per session when sizing the auto `--sessions-max`
/// (kernel socket, buffers and our state, with room to spare).
const SESSION_RAM_BYTES: u64 = 64 * 1024;

/// The auto `--sessions-max` before the hard open-files limit (which bounds
/// one ring's file table) is applied: [`SESSIONS_MAX_AUTO_CAP`] per worker
/// and what memory allows.
pub fn sessions_max_auto(workers: usize, mem_total_bytes: Option<u64>) -> usize {
    let by_memory = mem_total_bytes
        .map(|m| m / SESSION_RAM_BYTES / workers.max(1) as u64)
        .map_or(SESSIONS_MAX_AUTO_CAP, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        });
    by_memory.clamp(1, SESSIONS_MAX_AUTO_CAP)
}

/// The hard open-files limit: the kernel registers no file table larger
/// (the engine raises the soft limit to it for the registration).
fn nofile_hard() -> usize {
    use nix::sys::resource::{getrlimit, Resource};
    getrlimit(Resource::RLIMIT_NOFILE)
        .ok()
        .and_then(|(_, hard)| usize::try_from(hard).ok())
        .unwrap_or(SESSIONS_MAX_AUTO_CAP)
        .max(1)
}

/// MemTotal from /proc/meminfo, if readable.
fn mem_total_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

impl ServerConfig {
    /// Checks the arguments against the machine (root exists, enough passive
    /// ports for the workers). Errors are one line, for exit code 2.
    pub fn from_args(mut args: Args) -> Result<ServerConfig, String> {
        let root = std::fs::canonicalize(&args.root)
            .map_err(|e| format!("root {}: {e}", args.root.display()))?;
        if !root.is_dir() {
            return Err(format!("root {}: not a directory", root.display()));
        }
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let workers = args.cores.unwrap_or(cpus);
        if workers == 0 || workers > 1024 {
            return Err(format!("--cores {workers}: need 1..=1024"));
        }
        let (lo, hi) = args.pasv_ports;
        if usize::from(hi - lo) + 1 < workers {
            return Err(format!(
                "--pasv-ports {lo}-{hi}: fewer ports than workers ({workers})"
            ));
        }
        if args.line_len_max_bytes < 64 {
            return Err("--line-len-max-bytes: at least 64".to_string());
        }
        if args.helper_threads == 0 {
            return Err("--helper-threads: at least 1".to_string());
        }
        if args.upload_buffers_count == 0 || args.upload_buffer_size_bytes < 4096 {
            return Err(
                "--upload-buffers-count: at least 1; --upload-buffer-size-bytes: at least 4096"
                    .to_string(),
            );
        }
        if args.control_buffers_count == 0 || args.control_buffers_count > 32768 {
            return Err("--control-buffers-count: 1..=32768 (io_uring buffer ring)".to_string());
        }
        if !(256..=65536).contains(&args.control_buffer_size_bytes) {
            return Err("--control-buffer-size-bytes: 256..=65536".to_string());
        }
        if args.deferred_commands_max > 4096 {
            return Err("--deferred-commands-max: at most 4096".to_string());
        }
        if args.retr_chunk_bytes < 4096 {
            return Err("--retr-chunk-bytes: at least 4096".to_string());
        }
        super::hardening::check_args(&args, &root)?;
        if args.sessions_max == 0 {
            args.sessions_max = sessions_max_auto(workers, mem_total_bytes()).min(nofile_hard());
        }
        let tls = load_tls(&args)?;
        Ok(ServerConfig {
            tls,
            policy: PolicySource::from_flags(&args, &root),
            args,
            root,
            workers,
        })
    }

    /// A warning when the passive range overlaps the kernel's ephemeral range
    /// (outgoing connections could take passive ports, and the reverse).
    pub fn ephemeral_overlap_warning(&self) -> Option<String> {
        let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
        let mut it = text
            .split_whitespace()
            .filter_map(|w| w.parse::<u16>().ok());
        let (elo, ehi) = (it.next()?, it.next()?);
        let (lo, hi) = self.args.pasv_ports;
        (lo <= ehi && elo <= hi).then(|| {
            format!("warning: --pasv-ports {lo}-{hi} overlaps the ephemeral range {elo}-{ehi} (net.ipv4.ip_local_port_range); choose ports outside it")
        })
    }

    /// Worker `k`'s slice of the passive range (inclusive bounds).
    pub fn pasv_slice(&self, k: usize) -> (u16, u16) {
        let (lo, hi) = self.args.pasv_ports;
        let total = usize::from(hi - lo) + 1;
        let start = lo as usize + total * k / self.workers;
        let end = lo as usize + total * (k + 1) / self.workers - 1;
        (start as u16, end as u16)
    }
}

/// Reads and checks `--tls-cert` and `--tls-key` (one-line errors).
pub fn load_tls(args: &Args) -> Result<Option<crate::tls::TlsConfigs>, String> {
    let (cert, key) = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => (c, k),
        (None, None) => {
            if !args.tls_implicit_listen.is_empty() {
                return Err("--tls-implicit-listen needs --tls-cert and --tls-key".into());
            }
            if args.tls_required.is_some() || args.tls_allow_data_without_resumption {
                return Err(
                    "--tls-required and --tls-allow-data-without-resumption need --tls-cert and --tls-key"
                        .into(),
                );
            }
            return Ok(None);
        }
        (Some(_), None) => return Err("--tls-cert needs --tls-key".into()),
        (None, Some(_)) => return Err("--tls-key needs --tls-cert".into()),
    };
    let read = |flag: &str, p: &PathBuf| {
        std::fs::read(p).map_err(|e| format!("{flag} {}: {e}", p.display()))
    };
    let (cert_pem, key_pem) = (read("--tls-cert", cert)?, read("--tls-key", key)?);
    crate::tls::TlsConfigs::from_pem(&cert_pem, &key_pem)
        .map(Some)
        .map_err(|e| {
            format!(
                "--tls-cert {} / --tls-key {}: {e}",
                cert.display(),
                key.display()
            )
        })
}

#[cfg(test)]
mod sessions_max_tests {
    use super::*;

    #[test]
    fn auto_sessions_max_is_bounded_by_memory_and_the_cap() {
        let gib = 1u64 << 30;
        assert_eq!(sessions_max_auto(2, Some(24 * gib)), SESSIONS_MAX_AUTO_CAP);
        // 1 GiB over 4 workers at 64 KiB a session.
        assert_eq!(sessions_max_auto(4, Some(gib)), 4096);
        assert_eq!(sessions_max_auto(1, None), SESSIONS_MAX_AUTO_CAP);
        assert_eq!(sessions_max_auto(8, Some(0)), 1, "never zero");
        assert_eq!(
            sessions_max_auto(0, Some(gib)),
            16_384,
            "no division by zero"
        );
    }
}
