//! Per-login limits: a storage quota (bytes and files under the user's home
//! and folders) and transfer rates. Pure: no fd, no clock.
//!
//! A [`Usage`] is shared by every session of one user, on every worker (an
//! `Arc` of two atomics): the server counts the tree once (at the first
//! login) and then moves the counters with each change it makes — bytes as
//! an upload writes them ([`Quota::try_grow`], so an upload stops as soon as
//! it would pass the limit, RFC 959's 552 "exceeded storage allocation"),
//! files as uploads create them, and both back as DELE, an overwriting RNTO
//! or a removed partial upload free them. Two sessions of one user cannot
//! both take the last bytes: each reservation is one atomic add, undone when
//! it went past the limit.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// The limits of one login as written in the configuration: `None` is "no
/// limit" for a quota, and "the server's default" for a rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserLimits {
    /// `quota_bytes`: bytes the user may store.
    pub quota_bytes: Option<u64>,
    /// `quota_files`: files the user may store.
    pub quota_files: Option<u64>,
    /// `download_rate_bytes_per_sec` (0: unlimited).
    pub download_rate_bytes_per_sec: Option<u64>,
    /// `upload_rate_bytes_per_sec` (0: unlimited).
    pub upload_rate_bytes_per_sec: Option<u64>,
}

impl UserLimits {
    /// True when a quota applies (so the tree must be counted).
    pub fn has_quota(&self) -> bool {
        self.quota_bytes.is_some() || self.quota_files.is_some()
    }
}

/// The rates a session runs at, bytes per second (0: unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    pub download_bytes_per_sec: u64,
    pub upload_bytes_per_sec: u64,
}

/// Bytes and files stored by one user, shared by all of its sessions. May
/// dip below zero for a moment when the tree changes behind the server's
/// back; it is shown as zero then.
#[derive(Debug, Default)]
pub struct Usage {
    bytes: AtomicI64,
    files: AtomicI64,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Usage {
    /// Usage counted by a scan.
    pub fn new(bytes: u64, files: u64) -> Usage {
        Usage {
            bytes: AtomicI64::new(to_i64(bytes)),
            files: AtomicI64::new(to_i64(files)),
        }
    }

    /// Sets the counters (the scan's result).
    pub fn set(&self, bytes: u64, files: u64) {
        self.bytes.store(to_i64(bytes), Ordering::Relaxed);
        self.files.store(to_i64(files), Ordering::Relaxed);
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed).max(0) as u64
    }

    pub fn files(&self) -> u64 {
        self.files.load(Ordering::Relaxed).max(0) as u64
    }
}

/// Adds `n` to `counter` unless that passes `max`; true when added.
fn try_add(counter: &AtomicI64, n: u64, max: Option<u64>) -> bool {
    let n = to_i64(n);
    let before = counter.fetch_add(n, Ordering::Relaxed);
    match max {
        Some(max) if before.saturating_add(n) > to_i64(max) => {
            counter.fetch_sub(n, Ordering::Relaxed);
            false
        }
        _ => true,
    }
}

/// A login's quota: its limits and the user's shared usage.
#[derive(Debug, Clone)]
pub struct Quota {
    /// Bytes the user may store (`None`: no limit on bytes).
    pub bytes_max: Option<u64>,
    /// Files the user may store (`None`: no limit on files).
    pub files_max: Option<u64>,
    pub usage: Arc<Usage>,
}

impl PartialEq for Quota {
    fn eq(&self, o: &Quota) -> bool {
        self.bytes_max == o.bytes_max
            && self.files_max == o.files_max
            && Arc::ptr_eq(&self.usage, &o.usage)
    }
}

impl Eq for Quota {}

impl Quota {
    /// Reserves `n` more stored bytes; false (and nothing reserved) when
    /// that would pass the limit.
    pub fn try_grow(&self, n: u64) -> bool {
        n == 0 || try_add(&self.usage.bytes, n, self.bytes_max)
    }

    /// `n` stored bytes were freed (or a reservation is given back).
    pub fn shrink(&self, n: u64) {
        self.usage.bytes.fetch_sub(to_i64(n), Ordering::Relaxed);
    }

    /// Counts a new file; false (and not counted) when the file limit is reached.
    pub fn try_add_file(&self) -> bool {
        try_add(&self.usage.files, 1, self.files_max)
    }

    /// A file was removed.
    pub fn remove_file(&self) {
        self.usage.files.fetch_sub(1, Ordering::Relaxed);
    }

    /// Bytes that may still be stored (`None`: no limit).
    pub fn bytes_left(&self) -> Option<u64> {
        self.bytes_max
            .map(|max| max.saturating_sub(self.usage.bytes()))
    }

    /// The lines of SITE QUOTA (and STAT).
    pub fn lines(&self) -> Vec<String> {
        let line = |what: &str, used: u64, max: Option<u64>| match max {
            Some(max) => format!(
                "{what} used: {used} of {max} ({} left)",
                max.saturating_sub(used)
            ),
            None => format!("{what} used: {used} (no limit)"),
        };
        vec![
            line("Bytes", self.usage.bytes(), self.bytes_max),
            line("Files", self.usage.files(), self.files_max),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(bytes: Option<u64>, files: Option<u64>) -> Quota {
        Quota {
            bytes_max: bytes,
            files_max: files,
            usage: Arc::new(Usage::new(0, 0)),
        }
    }

    #[test]
    fn growth_stops_at_the_limit_and_nothing_is_reserved_past_it() {
        let q = quota(Some(100), None);
        assert!(q.try_grow(60));
        assert!(!q.try_grow(41), "60 + 41 passes 100");
        assert_eq!(q.usage.bytes(), 60, "a refused reservation is undone");
        assert!(q.try_grow(40), "exactly the limit is allowed");
        assert_eq!(q.bytes_left(), Some(0));
        assert!(!q.try_grow(1));
        q.shrink(30);
        assert_eq!(q.bytes_left(), Some(30));
        assert!(q.try_grow(0), "nothing is always allowed");
    }

    #[test]
    fn files_limit_counts_creations() {
        let q = quota(None, Some(2));
        assert!(q.try_add_file() && q.try_add_file());
        assert!(!q.try_add_file());
        assert_eq!(q.usage.files(), 2);
        q.remove_file();
        assert!(q.try_add_file());
        assert!(q.try_grow(u64::MAX / 4), "no byte limit");
    }

    #[test]
    fn sessions_of_one_user_share_the_usage() {
        let a = quota(Some(10), None);
        let b = Quota {
            usage: a.usage.clone(),
            ..a.clone()
        };
        assert!(a.try_grow(7));
        assert!(!b.try_grow(4), "b sees a's bytes");
        assert!(b.try_grow(3));
        assert_eq!(a, b);
    }

    #[test]
    fn lines_show_usage_and_limits_and_never_a_negative_count() {
        let q = quota(Some(1000), None);
        q.usage.set(250, 3);
        assert_eq!(
            q.lines(),
            vec![
                "Bytes used: 250 of 1000 (750 left)".to_string(),
                "Files used: 3 (no limit)".to_string()
            ]
        );
        q.shrink(400);
        assert_eq!(q.usage.bytes(), 0);
    }
}
