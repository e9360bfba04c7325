//! Syslog message parsing, RFC 3164 (BSD) and RFC 5424, and the re-emitted line.
//!
//! [`parse`] is a pure function that never panics: anything it cannot read is an error and
//! the listener passes the raw message through. [`SyslogMessage::to_line`] writes the message
//! the way CrowdSec's syslog datasource does, `Jan  2 15:04:05 host app[pid]: msg`, so that
//! `type: syslog` parsers (`SYSLOGLINE`) apply.
//!
//! Accepted RFC 3164 variants: `<PRI>Mmm dd hh:mm:ss[ yyyy] host tag[pid]: msg`, the same
//! with an RFC 3339 timestamp (rsyslog's high-precision format), without host
//! (`<PRI>Mmm dd hh:mm:ss tag[pid]: msg`), without pid, and without tag (the rest is the
//! message).

use chrono::{DateTime, FixedOffset, Utc};
use std::fmt::Write;

/// A message's timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamp {
    /// RFC 3164 wall time, without zone (and without year: it is not re-emitted).
    Bsd {
        /// 1..=12.
        month: u32,
        /// 1..=31.
        day: u32,
        /// 0..=23.
        hour: u32,
        /// 0..=59.
        minute: u32,
        /// 0..=60.
        second: u32,
    },
    /// An RFC 3339 time with its offset.
    Zoned(DateTime<FixedOffset>),
}

/// A parsed syslog message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogMessage {
    /// `facility * 8 + severity`.
    pub priority: u8,
    /// `Some(1)` for RFC 5424, `None` for RFC 3164.
    pub version: Option<u8>,
    /// When the message says it was sent (`None`: NILVALUE).
    pub timestamp: Option<Timestamp>,
    /// HOSTNAME.
    pub hostname: Option<String>,
    /// APP-NAME (RFC 5424) or TAG (RFC 3164).
    pub app_name: Option<String>,
    /// PROCID (RFC 5424) or the `[pid]` of the tag.
    pub proc_id: Option<String>,
    /// MSGID (RFC 5424).
    pub msg_id: Option<String>,
    /// STRUCTURED-DATA as written, brackets included (RFC 5424).
    pub structured_data: Option<String>,
    /// MSG, without a leading BOM.
    pub message: String,
}

/// Why a message could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(&'static str);

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl SyslogMessage {
    /// The facility (0..=23).
    pub fn facility(&self) -> u8 {
        self.priority / 8
    }

    /// The severity (0..=7).
    pub fn severity(&self) -> u8 {
        self.priority % 8
    }

    /// The line CrowdSec emits for this message: `Jan  2 15:04:05 host app[pid]: msg`.
    ///
    /// An RFC 3164 time is written as it was sent; an RFC 3339 one in its own offset; a
    /// missing one is `now` in UTC. A missing host is `unknownhost`.
    pub fn to_line(&self, now: DateTime<Utc>) -> String {
        let mut out = String::with_capacity(self.message.len() + 48);
        match self.timestamp {
            Some(Timestamp::Bsd {
                month,
                day,
                hour,
                minute,
                second,
            }) => {
                let mon = MONTHS.get(month.wrapping_sub(1) as usize).unwrap_or(&"Jan");
                let _ = write!(out, "{mon} {day:>2} {hour:02}:{minute:02}:{second:02}");
            }
            Some(Timestamp::Zoned(t)) => {
                let _ = write!(out, "{}", t.format("%b %e %H:%M:%S"));
            }
            None => {
                let _ = write!(out, "{}", now.format("%b %e %H:%M:%S"));
            }
        }
        out.push(' ');
        out.push_str(self.hostname.as_deref().unwrap_or("unknownhost"));
        if let Some(app) = &self.app_name {
            out.push(' ');
            out.push_str(app);
        }
        if let Some(pid) = &self.proc_id {
            out.push('[');
            out.push_str(pid);
            out.push(']');
        }
        out.push_str(": ");
        out.push_str(&self.message);
        out
    }
}

/// Parses an RFC 5424 (`<PRI>1 ...`) or RFC 3164 message. Trailing `\r`, `\n` and NUL are
/// ignored.
pub fn parse(input: &str) -> Result<SyslogMessage, ParseError> {
    let input = input.trim_end_matches(['\n', '\r', '\0']);
    let (priority, rest) = split_pri(input)?;
    if let Some(rest) = rest.strip_prefix("1 ") {
        parse_5424(priority, rest)
    } else {
        parse_3164(priority, rest)
    }
}

/// Strips a valid `<PRI>` prefix (for `disable_rfc_parser`).
pub fn strip_pri(input: &str) -> Option<&str> {
    split_pri(input).ok().map(|(_, rest)| rest)
}

fn split_pri(input: &str) -> Result<(u8, &str), ParseError> {
    let rest = input.strip_prefix('<').ok_or(ParseError("missing <PRI>"))?;
    let end = rest.find('>').ok_or(ParseError("unterminated <PRI>"))?;
    let digits = &rest[..end];
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError("PRI is not a number of 1 to 3 digits"));
    }
    let pri: u16 = digits
        .parse()
        .map_err(|_| ParseError("PRI is not a number"))?;
    if pri > 191 {
        return Err(ParseError("PRI is above 191"));
    }
    Ok((pri as u8, &rest[end + 1..]))
}

/// The next space-delimited token and what follows the space (or "" at the end).
fn token(s: &str) -> (&str, &str) {
    match s.find(' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

fn nil(tok: &str) -> Option<String> {
    (tok != "-").then(|| tok.to_string())
}

fn parse_5424(priority: u8, rest: &str) -> Result<SyslogMessage, ParseError> {
    let (ts, rest) = token(rest);
    let timestamp = match ts {
        "-" => None,
        "" => return Err(ParseError("empty TIMESTAMP")),
        t => Some(Timestamp::Zoned(
            DateTime::parse_from_rfc3339(t).map_err(|_| ParseError("TIMESTAMP is not RFC 3339"))?,
        )),
    };
    let mut fields: [&str; 4] = [""; 4];
    let mut rest = rest;
    for f in &mut fields {
        let (tok, r) = token(rest);
        if tok.is_empty() {
            return Err(ParseError("truncated RFC 5424 header"));
        }
        *f = tok;
        rest = r;
    }
    let (sd, rest) = split_structured_data(rest)?;
    let msg = rest.strip_prefix(' ').unwrap_or(rest);
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    Ok(SyslogMessage {
        priority,
        version: Some(1),
        timestamp,
        hostname: nil(fields[0]),
        app_name: nil(fields[1]),
        proc_id: nil(fields[2]),
        msg_id: nil(fields[3]),
        structured_data: sd.map(str::to_string),
        message: msg.to_string(),
    })
}

/// Splits `-` or `[id k="v"...][...]` off the front. Inside a quoted value `\` escapes the
/// next character, so `\]` and `\"` do not end anything.
fn split_structured_data(s: &str) -> Result<(Option<&str>, &str), ParseError> {
    if s == "-" || s.starts_with("- ") {
        return Ok((None, &s[1..]));
    }
    if !s.starts_with('[') {
        return Err(ParseError("STRUCTURED-DATA is neither - nor [...]"));
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() && bytes[i] == b'[' {
        i += 1;
        let mut in_quotes = false;
        loop {
            match bytes.get(i) {
                None => return Err(ParseError("unterminated STRUCTURED-DATA element")),
                Some(b'\\') => i += 2,
                Some(b'"') => {
                    in_quotes = !in_quotes;
                    i += 1;
                }
                Some(b']') if !in_quotes => {
                    i += 1;
                    break;
                }
                Some(_) => i += 1,
            }
        }
    }
    // `i` sits just after an ASCII `]`, so it is a char boundary.
    Ok((Some(&s[..i]), &s[i..]))
}

fn parse_3164(priority: u8, rest: &str) -> Result<SyslogMessage, ParseError> {
    let (timestamp, rest) = bsd_timestamp(rest)
        .or_else(|| rfc3339_timestamp(rest))
        .ok_or(ParseError("no RFC 3164 timestamp"))?;
    let rest = rest.trim_start_matches(' ');
    let (first, after_first) = token(rest);
    // `host tag: msg` or directly `tag[pid]: msg` (no host).
    let (hostname, rest) = if first.ends_with(':') || first.contains('[') || after_first.is_empty()
    {
        (None, rest)
    } else {
        (Some(first.to_string()), after_first.trim_start_matches(' '))
    };
    let (app_name, proc_id, message) = match split_tag(rest) {
        Some((tag, pid, msg)) => (Some(tag.to_string()), pid.map(str::to_string), msg),
        None => (None, None, rest),
    };
    Ok(SyslogMessage {
        priority,
        version: None,
        timestamp: Some(timestamp),
        hostname,
        app_name,
        proc_id,
        msg_id: None,
        structured_data: None,
        message: message.trim_start_matches(' ').to_string(),
    })
}

/// `tag[pid]: msg`, `tag: msg` or `tag[pid] msg`; `None` when the text does not start with a tag.
fn split_tag(s: &str) -> Option<(&str, Option<&str>, &str)> {
    let end = s.find(['[', ':', ' ']).unwrap_or(s.len());
    let tag = &s[..end];
    if tag.is_empty() {
        return None;
    }
    let rest = &s[end..];
    if let Some(after) = rest.strip_prefix('[') {
        let close = after.find(']')?;
        let pid = &after[..close];
        if pid.is_empty() || pid.contains(' ') {
            return None;
        }
        let rest = &after[close + 1..];
        let rest = rest.strip_prefix(':').unwrap_or(rest);
        return Some((tag, Some(pid), rest));
    }
    rest.strip_prefix(':').map(|msg| (tag, None, msg))
}

fn two_digits(s: &str) -> Option<u32> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
}

/// `Mmm dd hh:mm:ss` (day space- or zero-padded), optionally followed by ` yyyy`.
fn bsd_timestamp(s: &str) -> Option<(Timestamp, &str)> {
    let mon = s.get(..3)?;
    let month = MONTHS.iter().position(|m| *m == mon)? as u32 + 1;
    let rest = s.get(3..)?.strip_prefix(' ')?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let (day_s, rest) = token(rest);
    if day_s.is_empty() || day_s.len() > 2 || !day_s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day: u32 = day_s.parse().ok()?;
    let time = rest.get(..8)?;
    let rest = &rest[8..];
    let b = time.as_bytes();
    if b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (
        two_digits(&time[..2])?,
        two_digits(&time[3..5])?,
        two_digits(&time[6..8])?,
    );
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    // An optional year, as in Go's "Jan _2 15:04:05 2006".
    let rest = match rest.get(1..5) {
        Some(y)
            if y.bytes().all(|b| b.is_ascii_digit())
                && matches!(rest.as_bytes().get(5), None | Some(b' ')) =>
        {
            &rest[5..]
        }
        _ => rest,
    };
    let ts = Timestamp::Bsd {
        month,
        day,
        hour,
        minute,
        second,
    };
    Some((ts, rest))
}

fn rfc3339_timestamp(s: &str) -> Option<(Timestamp, &str)> {
    let (tok, _) = token(s);
    let t = DateTime::parse_from_rfc3339(tok).ok()?;
    Some((Timestamp::Zoned(t), &s[tok.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap()
    }

    fn line(input: &str) -> String {
        parse(input).unwrap().to_line(now())
    }

    #[test]
    fn rfc3164_full() {
        let m = parse(
            "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8\n",
        )
        .unwrap();
        assert_eq!(m.priority, 34);
        assert_eq!((m.facility(), m.severity()), (4, 2));
        assert_eq!(m.hostname.as_deref(), Some("mymachine"));
        assert_eq!(m.app_name.as_deref(), Some("su"));
        assert_eq!(m.proc_id.as_deref(), Some("123"));
        assert_eq!(m.message, "'su root' failed for lonvick on /dev/pts/8");
        assert_eq!(
            m.to_line(now()),
            "Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8"
        );
    }

    #[test]
    fn rfc3164_pads_single_digit_days_like_go() {
        assert_eq!(
            line("<13>Jan  2 03:04:05 host sshd[9]: hi"),
            "Jan  2 03:04:05 host sshd[9]: hi"
        );
        assert_eq!(
            line("<13>Jan 02 03:04:05 host sshd[9]: hi"),
            "Jan  2 03:04:05 host sshd[9]: hi"
        );
        assert_eq!(
            line("<13>Jan 2 03:04:05 host sshd[9]: hi"),
            "Jan  2 03:04:05 host sshd[9]: hi"
        );
    }

    #[test]
    fn rfc3164_tolerant_variants() {
        // No pid.
        assert_eq!(
            line("<13>Feb 10 10:00:00 web01 kernel: boom"),
            "Feb 10 10:00:00 web01 kernel: boom"
        );
        // No host.
        let m = parse("<13>Feb 10 10:00:00 sshd[42]: Accepted key").unwrap();
        assert_eq!(m.hostname, None);
        assert_eq!(
            m.to_line(now()),
            "Feb 10 10:00:00 unknownhost sshd[42]: Accepted key"
        );
        // No tag: the rest is the message.
        let m = parse("<13>Feb 10 10:00:00 web01 just some text").unwrap();
        assert_eq!(
            (m.hostname.as_deref(), m.app_name.as_deref()),
            (Some("web01"), None)
        );
        assert_eq!(m.to_line(now()), "Feb 10 10:00:00 web01: just some text");
        // A year after the time, and a slash in the tag.
        assert_eq!(
            line("<22>Mar  1 12:00:00 2025 mx postfix/smtpd[77]: connect from x"),
            "Mar  1 12:00:00 mx postfix/smtpd[77]: connect from x"
        );
        // rsyslog's RFC 3339 timestamp, re-emitted in its own offset.
        assert_eq!(
            line("<13>2026-01-02T15:04:05.123+01:00 host app: msg"),
            "Jan  2 15:04:05 host app: msg"
        );
    }

    #[test]
    fn rfc5424_full_with_structured_data_and_bom() {
        let m = parse(
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 8710 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] \u{feff}An application event",
        )
        .unwrap();
        assert_eq!(m.version, Some(1));
        assert_eq!(m.hostname.as_deref(), Some("mymachine.example.com"));
        assert_eq!(m.app_name.as_deref(), Some("evntslog"));
        assert_eq!(m.proc_id.as_deref(), Some("8710"));
        assert_eq!(m.msg_id.as_deref(), Some("ID47"));
        assert_eq!(
            m.structured_data.as_deref(),
            Some("[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"]")
        );
        assert_eq!(m.message, "An application event");
        assert_eq!(
            m.to_line(now()),
            "Oct 11 22:14:15 mymachine.example.com evntslog[8710]: An application event"
        );
    }

    #[test]
    fn rfc5424_time_is_written_in_its_own_offset() {
        assert_eq!(
            line("<13>1 2026-07-09T23:30:00-07:00 h app - - - late"),
            "Jul  9 23:30:00 h app: late"
        );
    }

    #[test]
    fn rfc5424_nilvalues() {
        let m = parse("<14>1 - - - - - -").unwrap();
        assert_eq!(m.timestamp, None);
        assert_eq!(
            (
                m.hostname.clone(),
                m.app_name.clone(),
                m.proc_id.clone(),
                m.msg_id.clone()
            ),
            (None, None, None, None)
        );
        assert_eq!(m.structured_data, None);
        assert_eq!(m.message, "");
        assert_eq!(m.to_line(now()), "Mar  4 05:06:07 unknownhost: ");
        let m = parse("<14>1 - host - - - - only message").unwrap();
        assert_eq!(m.message, "only message");
        assert_eq!(m.to_line(now()), "Mar  4 05:06:07 host: only message");
    }

    #[test]
    fn rfc5424_structured_data_with_escapes() {
        let m = parse(r#"<14>1 2026-01-01T00:00:00Z h a 1 m [x@1 k="a\]b\"c"][y@2 z="]"] tail"#)
            .unwrap();
        assert_eq!(
            m.structured_data.as_deref(),
            Some(r#"[x@1 k="a\]b\"c"][y@2 z="]"]"#)
        );
        assert_eq!(m.message, "tail");
        assert!(parse(r#"<14>1 - h a 1 m [x@1 k="never closed] msg"#).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "",
            "<",
            "<>",
            "<1",
            "<999>Jan  1 00:00:00 h t: m",
            "<a>x",
            "<13>",
            "<13>1",
            "<13>1 ",
            "<13>1 bad-time h a p m -",
            "<13>1 - h",
            "<13>1 - h a p m x",
            "<13>hello world",
            "<13>Jan 99 00:00:00 h t: m",
            "<13>Jan  1 25:00:00 h t: m",
            "<13>Jxn  1 00:00:00 h t: m",
            "no pri at all",
            "<13>é",
            "<13>Jan  1 00:00",
            "<13>Jané1 00:00:00 h",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
        // Every prefix and every single-byte deletion of valid messages: no panic.
        let samples = [
            "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed é",
            "<165>1 2003-10-11T22:14:15.003Z host app 1 id [a@1 b=\"c\\]\"] \u{feff}msg é",
            "<13>2026-01-02T15:04:05+01:00 host app[1]: msg",
        ];
        for s in samples {
            for (i, _) in s.char_indices() {
                let _ = parse(&s[..i]).map(|m| m.to_line(now()));
                let mut cut = s.to_string();
                cut.remove(i);
                let _ = parse(&cut).map(|m| m.to_line(now()));
            }
        }
    }

    #[test]
    fn strips_pri_for_disable_rfc_parser() {
        assert_eq!(strip_pri("<13>anything goes"), Some("anything goes"));
        assert_eq!(strip_pri("no pri"), None);
    }
}
