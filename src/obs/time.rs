//! Calendar time from Unix time, for log lines: UTC only, so no time-zone
//! database is read and every log's times line up (the xferlog, the JSON
//! log and the metrics all speak UTC).
//!
//! The day arithmetic is the proleptic Gregorian "days from civil"
//! algorithm, inverted (H. Hinnant, "chrono-compatible low-level date
//! algorithms"), valid for every `i64` second count a log can meet.

use std::time::{SystemTime, UNIX_EPOCH};

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i64,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// 0..=999.
    pub millisecond: u16,
    /// 0 = Sunday .. 6 = Saturday.
    pub weekday: u8,
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl CivilTime {
    /// `secs` (and `millis`, 0..=999) after 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: i64, millis: u16) -> CivilTime {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        CivilTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
            millisecond: millis.min(999),
            // 1970-01-01 was a Thursday (4).
            weekday: (days + 4).rem_euclid(7) as u8,
        }
    }

    /// The wall clock's `t` (times before 1970 count backwards).
    pub fn from_system(t: SystemTime) -> CivilTime {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => CivilTime::from_unix(
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_millis() as u16,
            ),
            Err(e) => {
                let d = e.duration();
                let secs = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                match d.subsec_millis() {
                    0 => CivilTime::from_unix(secs, 0),
                    ms => CivilTime::from_unix(secs - 1, 1000 - ms as u16),
                }
            }
        }
    }

    /// RFC 3339 in UTC with milliseconds: `2024-05-01T12:03:04.567Z`.
    pub fn rfc3339_millis(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond
        )
    }

    /// `ctime(3)`'s form without the newline, as wu-ftpd's xferlog writes
    /// it: `Wed May  1 12:03:04 2024` (day of month padded with a space).
    pub fn ctime(&self) -> String {
        format!(
            "{} {} {:>2} {:02}:{:02}:{:02} {}",
            WEEKDAYS[usize::from(self.weekday % 7)],
            MONTHS[usize::from((self.month + 11) % 12)],
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.year
        )
    }
}

/// (year, month 1..=12, day 1..=31) of `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a
    // 400-year era's years.
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365
    let mp = (5 * doy + 2) / 153; // March-based month, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        let t = CivilTime::from_unix(0, 0);
        assert_eq!(t.rfc3339_millis(), "1970-01-01T00:00:00.000Z");
        assert_eq!(t.ctime(), "Thu Jan  1 00:00:00 1970");
        // `date -u -d @1714564984`: Wed May  1 12:03:04 UTC 2024.
        let t = CivilTime::from_unix(1_714_564_984, 567);
        assert_eq!(t.rfc3339_millis(), "2024-05-01T12:03:04.567Z");
        assert_eq!(t.ctime(), "Wed May  1 12:03:04 2024");
        // Leap day, and the last second of a year.
        assert_eq!(
            CivilTime::from_unix(951_782_400, 0).ctime(),
            "Tue Feb 29 00:00:00 2000"
        );
        assert_eq!(
            CivilTime::from_unix(1_703_980_799, 999).rfc3339_millis(),
            "2023-12-30T23:59:59.999Z"
        );
        assert_eq!(
            CivilTime::from_unix(4_102_444_800, 0).ctime(),
            "Fri Jan  1 00:00:00 2100"
        );
    }

    #[test]
    fn before_the_epoch() {
        assert_eq!(
            CivilTime::from_unix(-1, 0).rfc3339_millis(),
            "1969-12-31T23:59:59.000Z"
        );
        let t = UNIX_EPOCH - std::time::Duration::from_millis(1);
        assert_eq!(
            CivilTime::from_system(t).rfc3339_millis(),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn every_day_of_four_centuries_is_consecutive() {
        // Walk day by day from 1900 to 2300: dates advance by one, months and
        // leap years roll over where the Gregorian calendar says.
        let start = -25_567; // 1900-01-01
        let mut prev = civil_from_days(start);
        assert_eq!(prev, (1900, 1, 1));
        for d in start + 1..start + 146_097 {
            let cur = civil_from_days(d);
            let (y, m, day) = prev;
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ][usize::from(m - 1)];
            let want = if day < len {
                (y, m, day + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            assert_eq!(cur, want, "day {d}");
            prev = cur;
        }
    }

    #[test]
    fn weekday_of_known_dates() {
        assert_eq!(CivilTime::from_unix(0, 0).weekday, 4);
        assert_eq!(CivilTime::from_unix(-86_400, 0).weekday, 3);
        assert_eq!(CivilTime::from_unix(1_714_564_984, 0).weekday, 3);
    }
}
