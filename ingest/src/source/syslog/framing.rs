//! RFC 6587 framing of syslog over TCP, detected per message: octet counting
//! (`<len> <message>`) when a frame starts with digits followed by a space, otherwise
//! non-transparent framing (one message per line). Frames are capped at `max` bytes (the rest
//! of a longer one is dropped and the frame marked truncated).

/// One framed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The message bytes (at most `max`).
    pub bytes: Vec<u8>,
    /// Whether bytes past `max` were dropped.
    pub truncated: bool,
}

#[derive(Debug)]
enum State {
    /// Between frames; `digits` holds a length prefix being read.
    Start { digits: Vec<u8> },
    /// Octet counting: this many bytes of the message are still to come.
    Counted { remaining: usize },
    /// Newline-delimited: up to the next `\n`.
    Line,
}

/// Incremental RFC 6587 deframer.
#[derive(Debug)]
pub(crate) struct Framer {
    state: State,
    msg: Vec<u8>,
    truncated: bool,
    max: usize,
}

/// More digits than this is not a length prefix.
const MAX_LEN_DIGITS: usize = 9;

impl Framer {
    /// A framer capping messages at `max` bytes.
    pub fn new(max: usize) -> Self {
        Framer {
            state: State::Start { digits: Vec::new() },
            msg: Vec::new(),
            truncated: false,
            max: max.max(1),
        }
    }

    /// Feeds bytes read from the connection; complete frames go to `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<Frame>) {
        while !data.is_empty() {
            match &mut self.state {
                State::Start { digits } => {
                    let b = data[0];
                    if digits.is_empty() && matches!(b, b'\n' | b'\r' | b'\0') {
                        data = &data[1..];
                    } else if b.is_ascii_digit() && digits.len() < MAX_LEN_DIGITS {
                        digits.push(b);
                        data = &data[1..];
                    } else if b == b' ' && !digits.is_empty() {
                        let len = std::str::from_utf8(digits)
                            .ok()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0);
                        data = &data[1..];
                        self.state = State::Counted { remaining: len };
                        if len == 0 {
                            self.emit(out);
                        }
                    } else {
                        // Not a length prefix: the digits (if any) start a line.
                        let digits = std::mem::take(digits);
                        self.state = State::Line;
                        self.append(&digits);
                    }
                }
                State::Counted { remaining } => {
                    let take = (*remaining).min(data.len());
                    *remaining -= take;
                    let done = *remaining == 0;
                    let (chunk, rest) = data.split_at(take);
                    data = rest;
                    self.append(chunk);
                    if done {
                        self.emit(out);
                    }
                }
                State::Line => match data.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        let (chunk, rest) = data.split_at(i);
                        data = &rest[1..];
                        let chunk = chunk.strip_suffix(b"\r").unwrap_or(chunk);
                        self.append(chunk);
                        self.emit(out);
                    }
                    None => {
                        self.append(data);
                        data = &[];
                    }
                },
            }
        }
    }

    /// At end of connection: the unfinished message, if any.
    pub fn finish(&mut self) -> Option<Frame> {
        let mut out = Vec::new();
        if let State::Start { digits } = &mut self.state {
            let digits = std::mem::take(digits);
            self.append(&digits);
        }
        if !self.msg.is_empty() || self.truncated {
            self.emit(&mut out);
        }
        out.pop()
    }

    fn append(&mut self, part: &[u8]) {
        let room = self.max.saturating_sub(self.msg.len());
        if part.len() > room {
            self.msg.extend_from_slice(&part[..room]);
            self.truncated = true;
        } else {
            self.msg.extend_from_slice(part);
        }
    }

    fn emit(&mut self, out: &mut Vec<Frame>) {
        out.push(Frame {
            bytes: std::mem::take(&mut self.msg),
            truncated: std::mem::replace(&mut self.truncated, false),
        });
        self.state = State::Start { digits: Vec::new() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(max: usize, chunks: &[&[u8]]) -> Vec<(String, bool)> {
        let mut f = Framer::new(max);
        let mut out = Vec::new();
        for c in chunks {
            f.push(c, &mut out);
        }
        out.extend(f.finish());
        out.into_iter()
            .map(|f| (String::from_utf8(f.bytes).unwrap(), f.truncated))
            .collect()
    }

    fn s(v: &str) -> (String, bool) {
        (v.to_string(), false)
    }

    #[test]
    fn octet_counting_across_chunks() {
        assert_eq!(
            frames(100, &[b"5 hel", b"lo3 ab", b"c"]),
            vec![s("hello"), s("abc")]
        );
        // A counted message may contain newlines.
        assert_eq!(frames(100, &[b"3 a\nb"]), vec![s("a\nb")]);
    }

    #[test]
    fn newline_framing_and_mixed() {
        assert_eq!(
            frames(
                100,
                &[
                    b"<13>Jan  1 00:00:00 h t: a\r\n",
                    b"<13>b\n4 <1>x",
                    b"<14>c\nlast"
                ]
            ),
            vec![
                s("<13>Jan  1 00:00:00 h t: a"),
                s("<13>b"),
                s("<1>x"),
                s("<14>c"),
                s("last")
            ]
        );
        assert_eq!(frames(100, &[b"123abc\n"]), vec![s("123abc")]);
    }

    #[test]
    fn caps_frames() {
        assert_eq!(
            frames(3, &[b"abcdef\nxy\n"]),
            vec![("abc".into(), true), s("xy")]
        );
        assert_eq!(
            frames(3, &[b"6 abcdefxy\n"]),
            vec![("abc".into(), true), s("xy")]
        );
    }
}
