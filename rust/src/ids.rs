//! Session ids: `YYYY-MM-DD_HH-MM-SS_xxxxxx`, UTC seconds plus six `[0-9a-z]`
//! characters from the OS's secure random source (README, "Session ids").

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Suffixes handed out in the current second, so that one process never repeats an id.
static ISSUED: Mutex<Option<(u64, HashSet<[u8; 6]>)>> = Mutex::new(None);

/// Civil (proleptic Gregorian) date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD{date_sep}HH{sep}MM{sep}SS` for a Unix time in seconds.
pub fn format_utc(secs: u64, date_time_sep: char, time_sep: char) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}{date_time_sep}{:02}{time_sep}{:02}{time_sep}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Six characters of `[0-9a-z]`, uniformly drawn from the OS random source.
pub fn random_suffix() -> [u8; 6] {
    let mut suffix = [0u8; 6];
    let mut filled = 0;
    while filled < 6 {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("the OS random source failed");
        // 252 = 7 * 36: rejecting larger bytes keeps every character equally likely.
        for byte in bytes.into_iter().filter(|b| *b < 252) {
            if filled < 6 {
                suffix[filled] = ALPHABET[usize::from(byte % 36)];
                filled += 1;
            }
        }
    }
    suffix
}

/// A new session id, never one this process returned before.
pub fn generate_session_id() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut issued = ISSUED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if issued.as_ref().is_none_or(|(second, _)| *second != secs) {
        *issued = Some((secs, HashSet::new()));
    }
    let (_, seen) = issued.as_mut().expect("set above");
    let suffix = loop {
        let candidate = random_suffix();
        if seen.insert(candidate) {
            break candidate;
        }
    };
    let mut id = format_utc(secs, '_', '-');
    id.push('_');
    id.extend(suffix.iter().map(|b| char::from(*b)));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        assert_eq!(format_utc(0, '_', '-'), "1970-01-01_00-00-00");
        assert_eq!(format_utc(951_782_400, 'T', ':'), "2000-02-29T00:00:00");
        assert_eq!(format_utc(1_768_062_645, '_', '-'), "2026-01-10_16-30-45");
        assert_eq!(format_utc(4_102_444_799, 'T', ':'), "2099-12-31T23:59:59");
    }

    #[test]
    fn ids_have_the_format_and_never_repeat() {
        let mut seen = HashSet::new();
        for _ in 0..5000 {
            let id = generate_session_id();
            assert_eq!(id.len(), 26);
            let shape = "dddd-dd-dd_dd-dd-dd_ssssss";
            for (c, s) in id.chars().zip(shape.chars()) {
                match s {
                    'd' => assert!(c.is_ascii_digit(), "{id}"),
                    's' => assert!(c.is_ascii_digit() || c.is_ascii_lowercase(), "{id}"),
                    _ => assert_eq!(c, s, "{id}"),
                }
            }
            assert!(seen.insert(id));
        }
    }
}
