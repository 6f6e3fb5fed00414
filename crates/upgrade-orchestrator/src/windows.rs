//! Maintenance windows: the weekly spans of local time in which component upgrades may start.
//!
//! A [`Window`] is written `"Sat 22:00-Sun 04:00"` (start day and time, end day and time) or
//! `"Wed 01:00-03:00"` (the same day; an end at or before the start means the next day, so
//! `"Fri 23:00-01:00"` ends on Saturday). A [`Schedule`] is a domain's windows in one time zone;
//! [`Schedule::check`] says, for an instant, whether a window is open and until when, or when
//! the next one opens. An empty schedule is always open.
//!
//! Times are wall-clock times of the zone, so a window keeps its local hours across daylight
//! saving changes: a start that falls in the hour skipped in spring opens at the first instant
//! after the gap, and a time that occurs twice in autumn means its first occurrence.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

const MINUTES_PER_DAY: i64 = 24 * 60;
const MINUTES_PER_WEEK: i64 = 7 * MINUTES_PER_DAY;

/// One weekly window, e.g. `Sat 22:00-Sun 04:00`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Window {
    start_day: Weekday,
    start: NaiveTime,
    /// Length in minutes (1 ..= one week).
    minutes: i64,
    /// The text it was read from, normalised (`Sat 22:00-Sun 04:00`).
    text: String,
}

/// Why a window text is not a window; the message names the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "maintenance window {text:?}: {reason} (expected e.g. \"Sat 22:00-Sun 04:00\" or \"Wed 01:00-03:00\")"
)]
pub struct WindowError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Window {
    /// Reads `"Sat 22:00-Sun 04:00"` or `"Wed 01:00-03:00"`.
    ///
    /// # Errors
    /// [`WindowError`] naming the text and what is wrong.
    pub fn parse(text: &str) -> Result<Self, WindowError> {
        let err = |reason: String| WindowError {
            text: text.to_owned(),
            reason,
        };
        let (from, to) = text
            .split_once('-')
            .ok_or_else(|| err("no '-' between start and end".to_owned()))?;
        let (start_day, start) = day_and_time(from.trim(), None).map_err(&err)?;
        let (end_day, end) = day_and_time(to.trim(), Some(start_day)).map_err(&err)?;
        let at = |day: Weekday, t: NaiveTime| {
            i64::from(day.num_days_from_monday()) * MINUTES_PER_DAY
                + t.signed_duration_since(NaiveTime::MIN).num_minutes()
        };
        let mut minutes = (at(end_day, end) - at(start_day, start)).rem_euclid(MINUTES_PER_WEEK);
        let explicit_end_day = to.trim().contains(char::is_whitespace);
        if minutes == 0 && explicit_end_day {
            return Err(err("it starts and ends at the same time".to_owned()));
        }
        if !explicit_end_day && at(end_day, end) <= at(start_day, start) {
            // "Fri 23:00-01:00": the end is on the next day.
            minutes = (at(end_day, end) + MINUTES_PER_DAY - at(start_day, start))
                .rem_euclid(MINUTES_PER_WEEK);
            if minutes == 0 {
                minutes = MINUTES_PER_DAY;
            }
        }
        let end_text = if explicit_end_day {
            format!("{} {}", short(end_day), end.format("%H:%M"))
        } else {
            end.format("%H:%M").to_string()
        };
        Ok(Self {
            start_day,
            start,
            minutes,
            text: format!("{} {}-{end_text}", short(start_day), start.format("%H:%M")),
        })
    }

    /// The window's text, normalised (`Sat 22:00-Sun 04:00`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The occurrence of this window that starts on local date `day` (which must be its start
    /// weekday), as UTC instants.
    fn occurrence(&self, day: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = day.and_time(self.start);
        let end = start + Duration::minutes(self.minutes);
        (resolve(tz, start), resolve(tz, end))
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Window {
    type Err = WindowError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Window {
    type Error = WindowError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Window> for String {
    fn from(w: Window) -> Self {
        w.text
    }
}

fn short(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    }
}

/// `"Sat 22:00"`, or `"04:00"` on `default_day`.
fn day_and_time(s: &str, default_day: Option<Weekday>) -> Result<(Weekday, NaiveTime), String> {
    let (day, time) = match s.split_once(char::is_whitespace) {
        Some((d, t)) => {
            let day = d
                .parse::<Weekday>()
                .map_err(|_| format!("{d:?} is not a day of the week (Mon … Sun)"))?;
            (day, t.trim())
        }
        None => match default_day {
            Some(day) => (day, s),
            None => {
                return Err(format!(
                    "{s:?} lacks the day of the week (e.g. \"Sat 22:00\")"
                ));
            }
        },
    };
    if time == "24:00" {
        // The end of the day: midnight of the next one.
        return Ok((day.succ(), NaiveTime::MIN));
    }
    let t = NaiveTime::parse_from_str(time, "%H:%M")
        .map_err(|_| format!("{time:?} is not a time of day (HH:MM, 00:00 … 24:00)"))?;
    Ok((day, t))
}

/// The instant a local wall-clock time means: its first occurrence when the clock goes back,
/// the first instant after the gap when it skips that time.
fn resolve(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut t = local;
    // Gaps are at most a few hours; step minute by minute to their end.
    for _ in 0..=(4 * 60) {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => {
                return x.with_timezone(&Utc);
            }
            LocalResult::None => t += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&local)
}

/// Whether a window is open at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowCheck {
    /// No window configured: upgrades may start at any time.
    Always,
    /// A window is open until `closes_at`.
    Open {
        /// When the open window closes.
        closes_at: DateTime<Utc>,
    },
    /// No window is open; the next one opens at `opens_at`.
    Closed {
        /// When the next window opens.
        opens_at: DateTime<Utc>,
    },
}

impl WindowCheck {
    /// True unless [`WindowCheck::Closed`].
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Closed { .. })
    }
}

/// The time zone the windows are written in: an IANA name (`Europe/Berlin`), default `UTC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(pub Tz);

impl Default for TimeZoneName {
    fn default() -> Self {
        Self(Tz::UTC)
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.trim().parse::<Tz>().map(Self).map_err(|_| {
            format!("unknown time zone {s:?} (expected an IANA name such as \"Europe/Berlin\" or \"UTC\")")
        })
    }
}

impl From<TimeZoneName> for String {
    fn from(z: TimeZoneName) -> Self {
        z.0.name().to_owned()
    }
}

/// A domain's maintenance windows in one time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule<'a> {
    /// The zone the windows' times are in.
    pub tz: Tz,
    /// The windows (none: always open).
    pub windows: &'a [Window],
}

impl Schedule<'_> {
    /// Whether a window is open at `now`, and until when; else when the next one opens.
    pub fn check(&self, now: DateTime<Utc>) -> WindowCheck {
        if self.windows.is_empty() {
            return WindowCheck::Always;
        }
        let today = now.with_timezone(&self.tz).date_naive();
        let mut closes: Option<DateTime<Utc>> = None;
        let mut opens: Option<DateTime<Utc>> = None;
        // A window lasts at most a week, so the occurrences starting from eight days back to
        // eight days ahead cover both "open now" and "next start".
        for offset in -8..=8 {
            let day = today + Duration::days(offset);
            for w in self.windows.iter().filter(|w| w.start_day == day.weekday()) {
                let (start, end) = w.occurrence(day, self.tz);
                if start <= now && now < end {
                    closes = Some(closes.map_or(end, |c| c.max(end)));
                } else if start > now {
                    opens = Some(opens.map_or(start, |o| o.min(start)));
                }
            }
        }
        match (closes, opens) {
            (Some(closes_at), _) => WindowCheck::Open { closes_at },
            (None, Some(opens_at)) => WindowCheck::Closed { opens_at },
            // Unreachable with at least one window: each recurs within the 17 days looked at.
            (None, None) => WindowCheck::Always,
        }
    }
}

/// Reads the windows of one domain from their texts (e.g. a Home Assistant text entity's
/// value, windows separated by `,` or `;`). An empty text or `always` means no windows.
///
/// # Errors
/// The first window that cannot be read, named.
pub fn parse_list(text: &str) -> Result<Vec<Window>, WindowError> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("always") {
        return Ok(Vec::new());
    }
    text.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Window::parse)
        .collect()
}

/// The windows as one text (`Sat 22:00-Sun 04:00, Wed 01:00-03:00`; `always` when none).
pub fn list_text(windows: &[Window]) -> String {
    if windows.is_empty() {
        return "always".to_owned();
    }
    windows
        .iter()
        .map(Window::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    fn w(s: &str) -> Window {
        Window::parse(s).expect("test window")
    }

    #[test]
    fn windows_are_read_and_normalised() {
        assert_eq!(w("sat 22:00-sunday 04:00").as_str(), "Sat 22:00-Sun 04:00");
        assert_eq!(w("Wed 01:00 - 03:00").as_str(), "Wed 01:00-03:00");
        assert_eq!(w("Sat 22:00-Sun 04:00").minutes, 6 * 60);
        assert_eq!(w("Wed 01:00-03:00").minutes, 2 * 60);
        // An end before the start without a day is on the next day.
        assert_eq!(w("Fri 23:00-01:00").minutes, 2 * 60);
        assert_eq!(w("Mon 00:00-24:00").minutes, 24 * 60);
        // Spanning the end of the week.
        assert_eq!(w("Sun 23:00-Mon 01:00").minutes, 2 * 60);
    }

    #[test]
    fn bad_window_text_is_named_with_the_reason() {
        for (text, why) in [
            ("Sat 25:00-Sun 04:00", "\"25:00\" is not a time of day"),
            ("Sta 22:00-Sun 04:00", "\"Sta\" is not a day of the week"),
            ("Sat 22:00", "no '-'"),
            ("22:00-23:00", "lacks the day of the week"),
            ("Sat 22:00-Sat 22:00", "same time"),
        ] {
            let e = Window::parse(text).expect_err(text);
            let msg = e.to_string();
            assert!(msg.contains(&format!("{text:?}")), "{msg}");
            assert!(msg.contains(why), "{text}: {msg}");
        }
        let e = parse_list("Sat 22:00-Sun 04:00, Wed 1am-3am").expect_err("bad second window");
        assert_eq!(e.text, "Wed 1am-3am");
    }

    #[test]
    fn open_and_closed_in_utc() {
        let windows = [w("Sat 22:00-Sun 04:00"), w("Wed 01:00-03:00")];
        let s = Schedule {
            tz: Tz::UTC,
            windows: &windows,
        };
        // 2026-12-03 is a Thursday.
        assert_eq!(
            s.check(utc("2026-12-03T12:00:00Z")),
            WindowCheck::Closed {
                opens_at: utc("2026-12-05T22:00:00Z")
            }
        );
        // Across midnight: Sunday 01:00 is inside the Saturday window.
        assert_eq!(
            s.check(utc("2026-12-06T01:00:00Z")),
            WindowCheck::Open {
                closes_at: utc("2026-12-06T04:00:00Z")
            }
        );
        // The end is exclusive, the start inclusive.
        assert_eq!(
            s.check(utc("2026-12-06T04:00:00Z")),
            WindowCheck::Closed {
                opens_at: utc("2026-12-09T01:00:00Z")
            }
        );
        assert!(s.check(utc("2026-12-05T22:00:00Z")).is_open());
        assert!(!s.check(utc("2026-12-05T21:59:59Z")).is_open());
    }

    #[test]
    fn a_window_across_the_end_of_the_week_is_open_on_both_sides() {
        let windows = [w("Sun 22:00-Mon 02:00")];
        let s = Schedule {
            tz: Tz::UTC,
            windows: &windows,
        };
        // Sunday 23:00 and Monday 01:00 (2026-12-06 is a Sunday).
        for inside in ["2026-12-06T23:00:00Z", "2026-12-07T01:00:00Z"] {
            assert_eq!(
                s.check(utc(inside)),
                WindowCheck::Open {
                    closes_at: utc("2026-12-07T02:00:00Z")
                },
                "{inside}"
            );
        }
        // Monday 02:00: the next one is Sunday week.
        assert_eq!(
            s.check(utc("2026-12-07T02:00:00Z")),
            WindowCheck::Closed {
                opens_at: utc("2026-12-13T22:00:00Z")
            }
        );
    }

    #[test]
    fn no_window_means_always_open() {
        let s = Schedule {
            tz: Tz::UTC,
            windows: &[],
        };
        assert_eq!(s.check(utc("2026-12-03T12:00:00Z")), WindowCheck::Always);
        assert_eq!(parse_list(" always ").expect("always"), Vec::new());
        assert_eq!(list_text(&[]), "always");
    }

    #[test]
    fn local_hours_hold_across_the_spring_dst_change() {
        // Berlin: on Sunday 2026-03-29 clocks jump from 02:00 to 03:00 (UTC+1 → UTC+2).
        let windows = [w("Sat 22:00-Sun 04:00")];
        let s = Schedule {
            tz: chrono_tz::Europe::Berlin,
            windows: &windows,
        };
        // Saturday 22:00 CET = 21:00 UTC; Sunday 04:00 CEST = 02:00 UTC: five real hours.
        assert_eq!(
            s.check(utc("2026-03-27T12:00:00Z")),
            WindowCheck::Closed {
                opens_at: utc("2026-03-28T21:00:00Z")
            }
        );
        assert_eq!(
            s.check(utc("2026-03-29T01:30:00Z")),
            WindowCheck::Open {
                closes_at: utc("2026-03-29T02:00:00Z")
            }
        );
        // The next week it is summer time: 22:00 CEST = 20:00 UTC.
        assert_eq!(
            s.check(utc("2026-03-29T02:00:00Z")),
            WindowCheck::Closed {
                opens_at: utc("2026-04-04T20:00:00Z")
            }
        );
    }

    #[test]
    fn a_start_in_the_skipped_hour_opens_after_the_gap() {
        // 02:30 does not exist in Berlin on 2026-03-29: the window opens at 03:00 CEST.
        let windows = [w("Sun 02:30-05:00")];
        let s = Schedule {
            tz: chrono_tz::Europe::Berlin,
            windows: &windows,
        };
        assert_eq!(
            s.check(utc("2026-03-28T12:00:00Z")),
            WindowCheck::Closed {
                opens_at: utc("2026-03-29T01:00:00Z")
            }
        );
    }

    #[test]
    fn a_time_that_occurs_twice_in_autumn_means_the_first() {
        // Berlin: on Sunday 2026-10-25 clocks go back from 03:00 CEST to 02:00 CET.
        let windows = [w("Sun 02:30-04:00")];
        let s = Schedule {
            tz: chrono_tz::Europe::Berlin,
            windows: &windows,
        };
        // 02:30 CEST = 00:30 UTC; 04:00 CET = 03:00 UTC.
        assert_eq!(
            s.check(utc("2026-10-24T12:00:00Z")),
            WindowCheck::Closed {
                opens_at: utc("2026-10-25T00:30:00Z")
            }
        );
        assert_eq!(
            s.check(utc("2026-10-25T02:45:00Z")),
            WindowCheck::Open {
                closes_at: utc("2026-10-25T03:00:00Z")
            }
        );
    }

    #[test]
    fn windows_serialise_as_their_text() {
        let json = serde_json::to_string(&vec![w("sat 22:00-sun 04:00")]).expect("json");
        assert_eq!(json, r#"["Sat 22:00-Sun 04:00"]"#);
        let back: Vec<Window> = serde_json::from_str(&json).expect("back");
        assert_eq!(back, vec![w("Sat 22:00-Sun 04:00")]);
        let bad = serde_json::from_str::<Vec<Window>>(r#"["Sat 22:00-Sun 4"]"#).expect_err("bad");
        assert!(bad.to_string().contains("Sat 22:00-Sun 4"), "{bad}");
    }
}
