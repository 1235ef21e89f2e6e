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

impl ServerConfig {
    /// Checks the arguments against the machine (root exists, enough passive
    /// ports for the workers). Errors are one line, for exit code 2.
    pub fn from_args(args: Args) -> Result<ServerConfig, String> {
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
        if args.retr_chunk_bytes < 4096 {
            return Err("--retr-chunk-bytes: at least 4096".to_string());
        }
        super::hardening::check_args(&args, &root)?;
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
