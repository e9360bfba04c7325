//! Required-literal prefilters: substrings every match must contain.
//!
//! Most grok patterns contain fixed text (`Failed password for `, `sshd`, `" HTTP/`). A line that
//! lacks one of them cannot match, and `memmem` finds out much faster than the regex engine does,
//! in particular for patterns that start with a variable part (`^%{SYSLOGTIMESTAMP}` …,
//! `%{IPORHOST} - …`), where the engine cannot skip ahead to a literal prefix.

use memchr::memmem::Finder;
use regex_syntax::hir::{Class, Hir, HirKind};
use std::fmt;

/// Shorter literals are too common to reject much.
const MIN_LITERAL_LEN: usize = 3;
/// Checking more literals costs more on the lines that do match.
const MAX_LITERALS: usize = 2;

/// A cheap test that rejects inputs a grok pattern cannot match: every literal must occur.
#[derive(Clone)]
pub struct Prefilter {
    literals: Vec<String>,
    finders: Vec<Finder<'static>>,
}

impl fmt::Debug for Prefilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prefilter")
            .field("literals", &self.literals)
            .finish()
    }
}

impl Prefilter {
    /// `false` means the pattern cannot match `haystack`; `true` means it may.
    #[inline]
    pub fn may_match(&self, haystack: &str) -> bool {
        let bytes = haystack.as_bytes();
        self.finders.iter().all(|f| f.find(bytes).is_some())
    }

    /// The required literals, longest first.
    pub fn literals(&self) -> &[String] {
        &self.literals
    }

    /// Derives the prefilter of a compiled pattern, if it has required literals.
    pub(crate) fn from_hir(hir: &Hir) -> Option<Prefilter> {
        let info = walk(hir);
        let mut found = info.required;
        if let Some(exact) = info.exact {
            found.push(exact);
        }
        let mut literals: Vec<String> = found
            .into_iter()
            .filter(|l| l.len() >= MIN_LITERAL_LEN)
            .filter_map(|l| String::from_utf8(l).ok())
            .collect();
        literals.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        literals.dedup();
        // A literal contained in a longer one is implied by it.
        let mut kept: Vec<String> = Vec::new();
        for literal in literals {
            if !kept.iter().any(|k| k.contains(literal.as_str())) {
                kept.push(literal);
            }
        }
        kept.truncate(MAX_LITERALS);
        if kept.is_empty() {
            return None;
        }
        let finders = kept
            .iter()
            .map(|l| Finder::new(l.as_bytes()).into_owned())
            .collect();
        Some(Prefilter {
            literals: kept,
            finders,
        })
    }
}

/// What a sub-expression tells about the text it matches.
struct Info {
    /// It always matches exactly this text.
    exact: Option<Vec<u8>>,
    /// Substrings every match of it contains (besides `exact`).
    required: Vec<Vec<u8>>,
}

impl Info {
    fn nothing() -> Info {
        Info {
            exact: None,
            required: Vec::new(),
        }
    }
    /// Everything required, `exact` included.
    fn all(self) -> Vec<Vec<u8>> {
        let mut all = self.required;
        if let Some(exact) = self.exact {
            if !exact.is_empty() {
                all.push(exact);
            }
        }
        all
    }
}

fn single_char(class: &Class) -> Option<Vec<u8>> {
    match class {
        Class::Unicode(c) => match c.ranges() {
            [r] if r.start() == r.end() => Some(r.start().to_string().into_bytes()),
            _ => None,
        },
        Class::Bytes(c) => match c.ranges() {
            [r] if r.start() == r.end() && r.start().is_ascii() => Some(vec![r.start()]),
            _ => None,
        },
    }
}

fn walk(hir: &Hir) -> Info {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Info {
            exact: Some(Vec::new()),
            required: Vec::new(),
        },
        HirKind::Literal(lit) => Info {
            exact: Some(lit.0.to_vec()),
            required: Vec::new(),
        },
        HirKind::Class(class) => Info {
            exact: single_char(class),
            required: Vec::new(),
        },
        HirKind::Capture(cap) => walk(&cap.sub),
        HirKind::Repetition(rep) => {
            if rep.min == 0 {
                return Info::nothing();
            }
            let inner = walk(&rep.sub);
            if rep.min == 1 && rep.max == Some(1) {
                return inner;
            }
            Info {
                exact: None,
                required: inner.all(),
            }
        }
        HirKind::Concat(subs) => {
            let mut run: Vec<u8> = Vec::new();
            let mut required = Vec::new();
            let mut exact = true;
            for sub in subs {
                let info = walk(sub);
                match info.exact {
                    Some(text) => run.extend_from_slice(&text),
                    None => {
                        exact = false;
                        if !run.is_empty() {
                            required.push(std::mem::take(&mut run));
                        }
                        required.extend(info.required);
                    }
                }
            }
            if exact {
                Info {
                    exact: Some(run),
                    required,
                }
            } else {
                if !run.is_empty() {
                    required.push(run);
                }
                Info {
                    exact: None,
                    required,
                }
            }
        }
        HirKind::Alternation(branches) => {
            // Only what every branch requires.
            let mut sets = branches.iter().map(|b| walk(b).all());
            let Some(mut common) = sets.next() else {
                return Info::nothing();
            };
            for set in sets {
                common.retain(|l| set.contains(l));
                if common.is_empty() {
                    break;
                }
            }
            Info {
                exact: None,
                required: common,
            }
        }
    }
}
