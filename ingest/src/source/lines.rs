//! Cutting a byte stream into lines with a length cap, and decoding them to text.
//!
//! [`LineSplitter`] is fed chunks as they are read and yields a line when its `\n` arrives;
//! it never holds more than `cap` bytes: the rest of a longer line is dropped (and the line
//! marked truncated). [`decode`] turns the bytes into text, lossily, saying whether they were
//! valid UTF-8.

/// One line's bytes, without the `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawLine {
    /// The bytes, at most `cap` of them.
    pub bytes: Vec<u8>,
    /// Whether bytes past the cap were dropped.
    pub truncated: bool,
}

/// A line as text, with what happened to it on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineText {
    /// The text, without the line terminator.
    pub text: String,
    /// Whether the line was cut at the length cap.
    pub truncated: bool,
    /// Whether invalid UTF-8 was replaced by U+FFFD.
    pub invalid_utf8: bool,
}

impl LineText {
    /// Valid, untruncated text.
    pub fn plain(text: impl Into<String>) -> Self {
        LineText {
            text: text.into(),
            ..LineText::default()
        }
    }
}

/// Decodes a line: strips one trailing `\r`, converts lossily.
pub(crate) fn decode(line: RawLine) -> LineText {
    let RawLine {
        mut bytes,
        truncated,
    } = line;
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    let (text, invalid_utf8) = match String::from_utf8(bytes) {
        Ok(s) => (s, false),
        Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
    };
    LineText {
        text,
        truncated,
        invalid_utf8,
    }
}

/// Splits chunks into `\n`-terminated lines of at most `cap` bytes.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    buf: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl LineSplitter {
    /// A splitter keeping at most `cap` bytes of a line (at least 1).
    pub fn new(cap: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            cap: cap.max(1),
            truncated: false,
        }
    }

    /// Feeds a chunk; complete lines are pushed to `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<RawLine>) {
        while let Some(i) = data.iter().position(|&b| b == b'\n') {
            self.append(&data[..i]);
            out.push(self.take());
            data = &data[i + 1..];
        }
        self.append(data);
    }

    /// The unterminated last line, if any (at end of input).
    pub fn finish(&mut self) -> Option<RawLine> {
        if self.buf.is_empty() && !self.truncated {
            None
        } else {
            Some(self.take())
        }
    }

    fn append(&mut self, part: &[u8]) {
        let room = self.cap.saturating_sub(self.buf.len());
        if part.len() > room {
            self.buf.extend_from_slice(&part[..room]);
            self.truncated = true;
        } else {
            self.buf.extend_from_slice(part);
        }
    }

    fn take(&mut self) -> RawLine {
        let mut bytes = std::mem::take(&mut self.buf);
        let truncated = std::mem::replace(&mut self.truncated, false);
        if truncated {
            cut_to_char_boundary(&mut bytes);
        }
        RawLine { bytes, truncated }
    }
}

/// After a cut, drops the incomplete UTF-8 sequence the cut may have left at the end.
pub(crate) fn cut_to_char_boundary(bytes: &mut Vec<u8>) {
    if let Err(e) = std::str::from_utf8(bytes) {
        if e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4 {
            bytes.truncate(e.valid_up_to());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: Vec<RawLine>) -> Vec<String> {
        lines.into_iter().map(|l| decode(l).text).collect()
    }

    #[test]
    fn splits_across_chunks_and_keeps_the_partial_line() {
        let mut s = LineSplitter::new(100);
        let mut out = Vec::new();
        s.push(b"one\ntw", &mut out);
        s.push(b"o\r\nthr", &mut out);
        assert_eq!(texts(std::mem::take(&mut out)), vec!["one", "two"]);
        assert_eq!(s.finish().map(|l| decode(l).text), Some("thr".to_string()));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn caps_long_lines_without_splitting_characters() {
        let mut s = LineSplitter::new(5);
        let mut out = Vec::new();
        s.push("abcdé".as_bytes(), &mut out); // 6 bytes: é would be cut in half
        s.push(b"fgh\nok\n", &mut out);
        let lines: Vec<LineText> = out.into_iter().map(decode).collect();
        assert_eq!(lines[0].text, "abcd");
        assert!(lines[0].truncated);
        assert!(!lines[0].invalid_utf8);
        assert_eq!(lines[1], LineText::plain("ok"));
    }

    #[test]
    fn decodes_invalid_utf8_lossily() {
        let l = decode(RawLine {
            bytes: b"a\xffb".to_vec(),
            truncated: false,
        });
        assert_eq!(l.text, "a\u{fffd}b");
        assert!(l.invalid_utf8);
    }
}
