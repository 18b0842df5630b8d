//! Toloka's timestamp format: UTC, ISO 8601, no zone suffix, 0–9 fraction digits
//! (`2016-03-07T15:47:00`, `2023-04-13T16:39:12.422`, `2022-07-07T12:31:54.862000`;
//! `specs/toloka-api.md` §1.1).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NANOS_PER_SECOND: u32 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;
/// Fraction digits of timestamps built from a clock: milliseconds, as the spec recommends.
const DEFAULT_FRACTION_DIGITS: u8 = 3;

/// An instant in UTC as Toloka writes it.
///
/// Parsing accepts a trailing `Z` or `±hh:mm` offset (as toloka-kit does) and converts it to
/// UTC; formatting always writes naive UTC with as many fraction digits as were parsed, so a
/// parsed value formats back to the same text unless it carried a zone. Equality, ordering and
/// hashing look at the instant only, not at the number of fraction digits. Every value holds
/// no more precision than its fraction digits show, so it equals what it formats to.
#[derive(Debug, Clone, Copy)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00 UTC.
    seconds: i64,
    nanos: u32,
    fraction_digits: u8,
}

/// Why a string is not a Toloka timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {text:?}: {reason} (expected YYYY-MM-DDThh:mm:ss[.fff])")]
pub struct TimestampError {
    /// The text that failed to parse.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Timestamp {
    /// The instant `seconds` + `nanos` after the Unix epoch, truncated to milliseconds (the
    /// precision the spec recommends writing). `None` if `nanos` is not below 10⁹ or the year
    /// leaves 0000..=9999.
    pub fn from_unix(seconds: i64, nanos: u32) -> Option<Self> {
        let timestamp = Self {
            seconds,
            nanos,
            fraction_digits: 9,
        }
        .with_fraction_digits(DEFAULT_FRACTION_DIGITS);
        (nanos < NANOS_PER_SECOND && timestamp.in_year_range()).then_some(timestamp)
    }

    /// `None` for instants before the Unix epoch or after year 9999.
    pub fn from_system_time(time: SystemTime) -> Option<Self> {
        let since_epoch = time.duration_since(UNIX_EPOCH).ok()?;
        let seconds = i64::try_from(since_epoch.as_secs()).ok()?;
        Self::from_unix(seconds, since_epoch.subsec_nanos())
    }

    /// The current time (the Unix epoch if the system clock is set before it).
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now()).unwrap_or(Self {
            seconds: 0,
            nanos: 0,
            fraction_digits: DEFAULT_FRACTION_DIGITS,
        })
    }

    /// Whole seconds since 1970-01-01T00:00:00 UTC (negative before).
    pub fn unix_seconds(&self) -> i64 {
        self.seconds
    }

    /// The fraction of the second, in nanoseconds (below 10⁹).
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// How many fraction digits [`fmt::Display`] writes.
    pub fn fraction_digits(&self) -> u8 {
        self.fraction_digits
    }

    /// The same instant written with `digits` (at most 9) fraction digits; digits dropped by a
    /// smaller count are truncated.
    pub fn with_fraction_digits(self, digits: u8) -> Self {
        let digits = digits.min(9);
        let unit = 10u32.pow(9 - u32::from(digits));
        Self {
            nanos: self.nanos - self.nanos % unit,
            fraction_digits: digits,
            ..self
        }
    }

    /// `self + duration`, truncated to `self`'s fraction digits; `None` past year 9999.
    pub fn checked_add(self, duration: Duration) -> Option<Self> {
        let total_nanos = self.nanos + duration.subsec_nanos();
        let seconds = self
            .seconds
            .checked_add(i64::try_from(duration.as_secs()).ok()?)?
            .checked_add(i64::from(total_nanos / NANOS_PER_SECOND))?;
        let sum = Self {
            seconds,
            nanos: total_nanos % NANOS_PER_SECOND,
            fraction_digits: 9,
        }
        .with_fraction_digits(self.fraction_digits);
        sum.in_year_range().then_some(sum)
    }

    /// The time from `earlier` to `self`, `None` if `earlier` is later.
    pub fn duration_since(&self, earlier: &Self) -> Option<Duration> {
        let as_nanos = |t: &Self| i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos);
        let nanos = u64::try_from(as_nanos(self) - as_nanos(earlier)).ok()?;
        Some(Duration::from_nanos(nanos))
    }

    fn in_year_range(&self) -> bool {
        let (year, _, _) = civil_from_days(self.seconds.div_euclid(SECONDS_PER_DAY));
        (0..=9999).contains(&year)
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        (self.seconds, self.nanos) == (other.seconds, other.nanos)
    }
}

impl Eq for Timestamp {}

impl Hash for Timestamp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.seconds, self.nanos).hash(state);
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.seconds, self.nanos).cmp(&(other.seconds, other.nanos))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.seconds.div_euclid(SECONDS_PER_DAY);
        let second_of_day = self.seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60
        )?;
        if self.fraction_digits > 0 {
            let digits = format!("{:09}", self.nanos);
            write!(f, ".{}", &digits[..usize::from(self.fraction_digits)])?;
        }
        Ok(())
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason| TimestampError {
            text: text.to_owned(),
            reason,
        };
        let bytes = text.as_bytes();
        if bytes.len() < 19 || !text.is_ascii() {
            return Err(fail("too short"));
        }
        for (position, separator) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
            if bytes[position] != separator {
                return Err(fail("misplaced separator"));
            }
        }
        let number = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let digits = &text[range];
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail("non-digit in date or time"));
            }
            digits
                .parse()
                .map_err(|_| fail("non-digit in date or time"))
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(fail("no such date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(fail("no such time of day"));
        }

        let mut rest = &text[19..];
        let (mut nanos, mut fraction_digits) = (0u32, 0u8);
        if let Some(after_dot) = rest.strip_prefix('.') {
            let digits_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            if !(1..=9).contains(&digits_len) {
                return Err(fail("fraction must have 1 to 9 digits"));
            }
            let digits = &after_dot[..digits_len];
            let value: u32 = digits.parse().map_err(|_| fail("bad fraction"))?;
            nanos = value * 10u32.pow(9 - digits_len as u32);
            fraction_digits = digits_len as u8;
            rest = &after_dot[digits_len..];
        }
        let offset_seconds = parse_offset(rest).ok_or_else(|| fail("bad zone suffix"))?;

        let local = days_from_civil(year, month, day) * SECONDS_PER_DAY
            + hour * 3600
            + minute * 60
            + second;
        let timestamp = Self {
            seconds: local - offset_seconds,
            nanos,
            fraction_digits,
        };
        if !timestamp.in_year_range() {
            return Err(fail("year outside 0000..=9999 in UTC"));
        }
        Ok(timestamp)
    }
}

/// Seconds east of UTC for "" (naive = UTC), "Z", "±hh:mm" or "±hhmm".
fn parse_offset(suffix: &str) -> Option<i64> {
    if suffix.is_empty() || suffix == "Z" {
        return Some(0);
    }
    let sign = match suffix.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = &suffix[1..];
    let (hours, minutes) = match body.len() {
        5 if body.as_bytes()[2] == b':' => (&body[..2], &body[3..]),
        4 => (&body[..2], &body[2..]),
        _ => return None,
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours <= 23 && minutes <= 59).then_some(sign * (hours * 3600 + minutes * 60))
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date. Years are counted from March so the
/// leap day falls at the end; eras of 400 years repeat exactly (146 097 days).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Timestamp {
        text.parse().expect(text)
    }

    #[test]
    fn known_unix_times() {
        // Independent values: `date -u -d 2016-03-07T15:47:00 +%s` = 1457365620;
        // 2000-02-29 is day 11016 since the epoch (30 years + 7 leap days + 59 days).
        assert_eq!(parse("1970-01-01T00:00:00").unix_seconds(), 0);
        assert_eq!(parse("2016-03-07T15:47:00").unix_seconds(), 1_457_365_620);
        assert_eq!(parse("2000-02-29T00:00:00").unix_seconds(), 11_016 * 86_400);
        assert_eq!(parse("2023-04-13T16:39:12.422").subsec_nanos(), 422_000_000);
    }

    #[test]
    fn civil_round_trip_over_four_centuries() {
        for days in (-719_468..2_932_896).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn format_keeps_parsed_digits() {
        for text in [
            "2016-03-07T15:47:00",
            "2024-05-01T10:00:00.250",
            "2022-07-07T12:31:54.862000",
            "2022-07-07T12:31:54.8",
            "1999-12-31T23:59:59.123456789",
            "0000-01-01T00:00:00",
            "9999-12-31T23:59:59",
        ] {
            assert_eq!(parse(text).to_string(), text);
        }
    }

    #[test]
    fn zones_convert_to_naive_utc() {
        assert_eq!(
            parse("2024-05-01T10:00:00Z").to_string(),
            "2024-05-01T10:00:00"
        );
        assert_eq!(
            parse("2024-05-01T01:30:00.5+03:00").to_string(),
            "2024-04-30T22:30:00.5"
        );
        assert_eq!(
            parse("2024-05-01T23:00:00-0130"),
            parse("2024-05-02T00:30:00")
        );
    }

    #[test]
    fn equality_ignores_precision() {
        assert_eq!(
            parse("2024-05-01T10:00:00"),
            parse("2024-05-01T10:00:00.000000")
        );
        assert!(parse("2024-05-01T10:00:00.001") > parse("2024-05-01T10:00:00"));
    }

    #[test]
    fn rejects_malformed() {
        for text in [
            "",
            "2024-05-01",
            "2024-05-01 10:00:00",
            "2024-13-01T10:00:00",
            "2023-02-29T10:00:00",
            "2024-05-01T24:00:00",
            "2024-05-01T10:60:00",
            "2024-05-01T10:00:00.",
            "2024-05-01T10:00:00.1234567890",
            "2024-05-01T10:00:00+3",
            "2024-05-01T10:00:00 ",
            "2024-05-01T10:00:0x",
            "+024-05-01T10:00:00",
            "0000-01-01T00:00:00+01:00",
            "2024-05-01T10:00:00é",
        ] {
            assert!(text.parse::<Timestamp>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn clock_constructors() {
        let t = Timestamp::from_unix(1_714_557_600, 250_000_000).unwrap();
        assert_eq!(t.to_string(), "2024-05-01T10:00:00.250");
        assert_eq!(
            t.checked_add(Duration::from_millis(2250))
                .unwrap()
                .to_string(),
            "2024-05-01T10:00:02.500"
        );
        assert_eq!(
            parse("2024-05-01T10:00:02.5").duration_since(&t),
            Some(Duration::from_millis(2250))
        );
        assert_eq!(t.with_fraction_digits(0).to_string(), "2024-05-01T10:00:00");
        assert!(Timestamp::from_unix(0, NANOS_PER_SECOND).is_none());
        let fine = Timestamp::from_unix(0, 123_456_789).unwrap();
        assert_eq!(fine, parse("1970-01-01T00:00:00.123"));
        assert_eq!(
            t.checked_add(Duration::from_nanos(1_999_999)).unwrap(),
            parse("2024-05-01T10:00:00.251")
        );
        let now = Timestamp::now();
        assert_eq!(now.to_string().parse::<Timestamp>(), Ok(now));
        assert!(Timestamp::now() > t);
    }
}
