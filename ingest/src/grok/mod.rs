//! Grok patterns, CrowdSec (grokky) flavour, compiled onto the Rust regex engine.
//!
//! A grok pattern is a regex with references: `%{NAME}` inserts the named pattern, and
//! `%{NAME:field}` also exports what it matched as `field`. Nothing else is a reference: type
//! hints (`%{INT:n:int}`) and field names with other characters (`%{IP:src-ip}`) stay literal text,
//! exactly as in CrowdSec, so such patterns compile but never match real logs.
//!
//! * [`GrokLibrary`] is the table of named patterns: pattern files (`NAME REGEX` lines,
//!   [`GrokLibrary::load_dir`]), parser `pattern_syntax` ([`GrokLibrary::add`], first definition
//!   wins), and Palisade's own base library ([`GrokLibrary::builtin`], the files of
//!   `ingest/patterns/`, embedded). [`GrokLibrary::overlay_dir`] puts a CrowdSec pattern
//!   directory on top of the built-ins (first definition wins).
//! * [`Grok::compile`] expands a pattern against a library and compiles it. The result is matched
//!   with [`Grok::captures`] (field → text) or [`Grok::is_match`].
//!
//! Compatibility with CrowdSec (which runs grokky on RE2):
//!
//! * References become unnamed groups and fields map to group indices with grokky's arithmetic
//!   and duplicate rules: among the pattern's own references the later one wins; a name from a
//!   referenced pattern is exported only if the pattern does not use it itself, the later one
//!   winning among those. grokky counts the groups of the text between references with a
//!   textual heuristic, and a few patterns (`SYSLOG5424BASE`, aws `S3_ACCESS_LOG`) get shifted
//!   indices from it; this is reproduced, since that is what CrowdSec parses with.
//! * A field whose group did not take part in the match is `""`. A match that exports no field
//!   counts as no match.
//! * RE2 semantics: `{` that does not open a valid `{n}`, `{n,}`, `{n,m}` is a literal (also
//!   `{,n}`); `\d \w \s \b` are ASCII (`\s` is `[\t\n\f\r ]`, no `\v`); `\<` and `\>` are literal
//!   `<` and `>`; octal escapes and `\Q…\E` work; `[` `&&` `--` `~~` inside a class are literal.
//!
//! Each compiled pattern may carry a [`Prefilter`]: literals every match contains, checked with
//! `memmem` before the regex runs.

mod backtrack;
mod classloop;
mod compile;
mod firstbytes;
mod guard;
mod library;
mod prefilter;

pub use library::GrokLibrary;
pub use prefilter::Prefilter;

use backtrack::CaptureEngine;
use palisade_schemas::FieldName;
use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::{Anchored, Input};
use regex_syntax::hir::{Hir, Look};
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use thiserror::Error;

/// Where a pattern definition comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// A file path, `builtin:<file>`, or what the caller said (`pattern_syntax`, a parser file).
    pub source: Arc<str>,
    /// 1-based line, when known.
    pub line: Option<usize>,
}

impl Location {
    /// A location in `source`, at `line` if known.
    pub fn new(source: &str, line: Option<usize>) -> Self {
        Location {
            source: Arc::from(source),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.source),
            None => f.write_str(&self.source),
        }
    }
}

/// A grok definition or pattern could not be loaded or compiled.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum GrokError {
    /// A pattern file or directory could not be read.
    #[error("cannot read grok patterns from {}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        error: std::io::Error,
    },
    /// A pattern file defines a name that is already defined.
    #[error("{at}: grok pattern {name} is already defined at {first}")]
    Duplicate {
        /// The name.
        name: String,
        /// The first definition.
        first: Location,
        /// The second one.
        at: Location,
    },
    /// A reference names a pattern that is not defined.
    #[error("{context}: %{{{name}}} is not defined{hint}")]
    UnknownPattern {
        /// The missing name.
        name: String,
        /// What was being compiled.
        context: String,
        /// Extra explanation, possibly empty.
        hint: &'static str,
    },
    /// The expanded pattern is not a valid regex (or is too big).
    #[error("{context}: invalid regex: {message}")]
    InvalidRegex {
        /// What was being compiled.
        context: String,
        /// The regex engine's message.
        message: String,
    },
    /// An empty name or an empty pattern.
    #[error("{context}: empty name or pattern")]
    Empty {
        /// What was being compiled.
        context: String,
    },
}

/// Limits for the regex engine: grok expansions are big (CrowdSec's `SSHD_LOG` is 27 KB with
/// 1,700 groups), far above the regex crate's defaults.
const NFA_SIZE_LIMIT: usize = 256 << 20;
const HYBRID_CACHE_CAPACITY: usize = 8 << 20;
/// Go's parser accepts nesting up to 1,000.
const NEST_LIMIT: u32 = 1000;

fn parser() -> regex_syntax::Parser {
    regex_syntax::ParserBuilder::new()
        .nest_limit(NEST_LIMIT)
        .build()
}

/// Parses a rewritten pattern (regex-syntax syntax) into its HIR.
pub(crate) fn parse_hir(pattern: &str) -> Result<Hir, String> {
    parser().parse(pattern).map_err(|e| e.to_string())
}

/// One exported field: its name and the group that holds it (`None`: never set, `""`).
#[derive(Debug, Clone)]
struct Field {
    /// Interned: events get it without an allocation.
    name: FieldName,
    group: Option<usize>,
}

/// A compiled grok pattern. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Grok {
    pattern: Arc<str>,
    /// The expanded and rewritten regex, in `regex-syntax` syntax.
    source: Arc<str>,
    /// Finds the match span (lazy DFA forward and reverse).
    regex: Regex,
    /// Resolves the capture groups on that span.
    engine: CaptureEngine,
    /// Sorted by name.
    fields: Arc<[Field]>,
    slots: usize,
    prefilter: Option<Prefilter>,
    use_prefilter: bool,
    /// The capture engine runs on the whole input at once (anchored patterns from the start
    /// only, others from each start in turn), without the DFA passes that would first find the
    /// span (see [`Direct`]). `None`: DFA first.
    direct: Option<Arc<Direct>>,
}

/// Whether a pattern still skips the DFA passes (forward for the end of the match, then, when
/// unanchored, backward for its start). Skipping them pays off when the pattern usually
/// matches what passed its prefilter (an `s00` syslog header: every line; an sshd message
/// pattern whose literals are in the line), since the capture engine then reads the line once
/// instead of two or three times; on an input that does not match, the backtracker may explore
/// far more than the DFA would read before failing. So failures raise a score (by 8)
/// and matches lower it (by 1, only while it is above 0, so that a pattern that keeps matching
/// writes nothing): a pattern that fails more than about one time in nine reaches
/// [`Direct::GIVE_UP`] and goes back to the DFA pass for good.
#[derive(Debug, Default)]
struct Direct {
    /// The pattern only matches at the start of the input (one start to try).
    anchored: bool,
    score: AtomicU32,
}

impl Direct {
    const GIVE_UP: u32 = 1024;

    fn on(&self) -> bool {
        self.score.load(Ordering::Relaxed) < Self::GIVE_UP
    }

    fn matched(&self, yes: bool) {
        if yes {
            let s = self.score.load(Ordering::Relaxed);
            if s > 0 && s < Self::GIVE_UP {
                self.score.store(s - 1, Ordering::Relaxed);
            }
        } else {
            self.score.fetch_add(8, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for Grok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grok")
            .field("pattern", &self.pattern)
            .field(
                "fields",
                &self.fields.iter().map(|f| &*f.name).collect::<Vec<_>>(),
            )
            .field("prefilter", &self.prefilter)
            .finish()
    }
}

fn describe(pattern: &str) -> String {
    const MAX: usize = 80;
    if pattern.len() <= MAX {
        return format!("grok pattern `{pattern}`");
    }
    let mut end = MAX;
    while !pattern.is_char_boundary(end) {
        end -= 1;
    }
    format!("grok pattern `{}…`", &pattern[..end])
}

impl Grok {
    /// Expands `pattern` against `library` and compiles it.
    pub fn compile(library: &GrokLibrary, pattern: &str) -> Result<Grok, GrokError> {
        if pattern.is_empty() {
            return Err(GrokError::Empty {
                context: describe(pattern),
            });
        }
        let expanded = library.expand(pattern).map_err(|e| match e {
            compile::ExpandError::Unknown(name) => GrokError::UnknownPattern {
                name,
                context: describe(pattern),
                hint: "",
            },
            compile::ExpandError::Syntax(message) => GrokError::InvalidRegex {
                context: describe(pattern),
                message,
            },
        })?;
        Self::build(pattern, &expanded, || describe(pattern))
    }

    /// Compiles the definition of `name` itself (a parser's `grok: {name: NAME}`): the same
    /// fields as `%{NAME}`.
    pub fn compile_named(library: &GrokLibrary, name: &str) -> Result<Grok, GrokError> {
        let Some(definition) = library.definition(name) else {
            return Err(GrokError::UnknownPattern {
                name: name.to_string(),
                context: "grok name".to_string(),
                hint: "",
            });
        };
        let pattern = library.get(name).unwrap_or_default();
        Self::build(pattern, &definition.expanded, || {
            format!("grok pattern {name}")
        })
    }

    fn build(
        pattern: &str,
        expanded: &compile::Expanded,
        context: impl Fn() -> String,
    ) -> Result<Grok, GrokError> {
        let invalid = |message: String| GrokError::InvalidRegex {
            context: context(),
            message,
        };
        let groups = expanded.groups as i64;
        let used = |g: usize| expanded.fields.iter().any(|(_, i)| *i == g as i64);
        let rewritten = compile::rewrite(&expanded.regex, &used).map_err(invalid)?;
        let hir = parse_hir(&rewritten.regex).map_err(invalid)?;
        let prefilter = Prefilter::from_hir(&hir);
        let anchored = hir.properties().look_set_prefix().contains(Look::Start);
        let config = meta::Config::new()
            .nfa_size_limit(Some(NFA_SIZE_LIMIT))
            .hybrid_cache_capacity(HYBRID_CACHE_CAPACITY);
        let regex = meta::Builder::new()
            .configure(config)
            .build_from_hir(&hir)
            .map_err(|e| invalid(e.to_string()))?;
        let nfa = thompson::Compiler::new()
            .configure(thompson::Config::new().nfa_size_limit(Some(NFA_SIZE_LIMIT)))
            .build_from_hir(&hir)
            .map_err(|e| invalid(e.to_string()))?;
        let engine = CaptureEngine::new(nfa);
        let direct = Some(Arc::new(Direct {
            anchored,
            ..Direct::default()
        }));

        let mut fields: Vec<Field> = expanded
            .fields
            .iter()
            .map(|(name, index)| {
                let group = match *index {
                    0 => Some(0),
                    i if i > 0 && i <= groups => rewritten.group_map[i as usize],
                    _ => None,
                };
                Field {
                    name: FieldName::interned(name),
                    group,
                }
            })
            .collect();
        fields.sort_by(|a, b| a.name.cmp(&b.name));
        let slots = regex.group_info().slot_len();
        debug_assert_eq!(slots, engine.slot_len());
        Ok(Grok {
            pattern: Arc::from(pattern),
            source: Arc::from(rewritten.regex),
            regex,
            engine,
            fields: fields.into(),
            slots,
            prefilter,
            use_prefilter: true,
            direct,
        })
    }

    /// The grok pattern as given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The regex the pattern compiles to: references expanded, Go syntax rewritten for
    /// `regex-syntax`, unread groups made non-capturing. The `regex` crate compiles it (with a
    /// nesting limit of 1,000 and a large size limit) to the same matches.
    pub fn regex_source(&self) -> &str {
        &self.source
    }

    /// The exported field names, sorted.
    pub fn field_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.fields.iter().map(|f| &*f.name)
    }

    /// The required-literal prefilter, if one could be derived.
    pub fn prefilter(&self) -> Option<&Prefilter> {
        self.prefilter.as_ref()
    }

    /// The same pattern without its prefilter: [`captures`](Self::captures) and
    /// [`is_match`](Self::is_match) run the regex on every input. For callers that already
    /// checked [`prefilter`](Self::prefilter) themselves, and for measuring.
    pub fn without_prefilter(mut self) -> Grok {
        self.use_prefilter = false;
        self
    }

    /// The same pattern always finding the match span with the DFA first (see [`Direct`]).
    /// For measuring and testing.
    pub fn dfa_first(mut self) -> Grok {
        self.direct = None;
        self
    }

    /// Whether the pattern currently runs its capture engine without the DFA passes.
    pub fn runs_direct(&self) -> bool {
        self.direct.as_ref().is_some_and(|d| d.on())
    }

    #[inline]
    fn rejected(&self, input: &str) -> bool {
        self.fields.is_empty()
            || (self.use_prefilter && self.prefilter.as_ref().is_some_and(|p| !p.may_match(input)))
    }

    /// Whether [`captures`](Self::captures) would return `Some`: the pattern matches and exports
    /// at least one field. Cheaper than `captures`.
    pub fn is_match(&self, input: &str) -> bool {
        !self.rejected(input) && self.regex.is_match(Input::new(input))
    }

    /// Matches `input` (leftmost-first, unanchored unless the pattern anchors) and returns the
    /// fields. `None` if it does not match or the pattern exports no field (CrowdSec then counts
    /// the grok as failed). Allocation-free for patterns with up to 31 capture groups in use.
    pub fn captures<'h>(&self, input: &'h str) -> Option<Captures<'_, 'h>> {
        if self.rejected(input) {
            return None;
        }
        let mut slots = Slots::new(self.slots);
        if let Some(direct) = self.direct.as_ref().filter(|d| d.on()) {
            if self.engine.fits(input.len()) {
                let (bytes, all) = (input.as_bytes(), 0..input.len());
                let matched = if direct.anchored {
                    self.engine.captures(bytes, all, slots.as_mut())
                } else {
                    self.engine.captures_leftmost(bytes, all, slots.as_mut())
                };
                direct.matched(matched);
                debug_assert_eq!(
                    matched,
                    self.regex.is_match(Input::new(input)),
                    "{:?} on {input:?}",
                    self.pattern
                );
                return matched.then_some(Captures {
                    grok: self,
                    input,
                    slots,
                });
            }
        }
        // The lazy DFA finds the span; the capture engine then only runs on it, anchored.
        let found = self.regex.search(&Input::new(input))?;
        if self.engine.fits(found.len()) {
            let matched = self
                .engine
                .captures(input.as_bytes(), found.range(), slots.as_mut());
            debug_assert!(matched, "{:?} on {input:?}", self.pattern);
            if !matched {
                return None;
            }
        } else {
            let on_span = Input::new(input)
                .span(found.range())
                .anchored(Anchored::Yes);
            self.regex.search_slots(&on_span, slots.as_mut())?;
        }
        Some(Captures {
            grok: self,
            input,
            slots,
        })
    }

    /// Every capture slot as the `meta` regex alone computes it (its own bounded backtracker or
    /// PikeVM over the whole input): the reference the capture engine is tested against.
    #[cfg(test)]
    fn reference_slots(&self, input: &str) -> Option<Vec<Option<usize>>> {
        let mut slots = vec![None; self.slots];
        self.regex.search_slots(&Input::new(input), &mut slots)?;
        Some(slots.iter().map(|s| s.map(NonMaxUsize::get)).collect())
    }
}

const INLINE_SLOTS: usize = 64;

/// Capture slots: on the stack for up to 31 groups, else on the heap (`Vec::new` does not
/// allocate, so the inline case allocates nothing).
struct Slots {
    inline: [Option<NonMaxUsize>; INLINE_SLOTS],
    heap: Vec<Option<NonMaxUsize>>,
    len: usize,
}

impl Slots {
    fn new(len: usize) -> Slots {
        let heap = if len <= INLINE_SLOTS {
            Vec::new()
        } else {
            vec![None; len]
        };
        Slots {
            inline: [None; INLINE_SLOTS],
            heap,
            len,
        }
    }
    fn as_mut(&mut self) -> &mut [Option<NonMaxUsize>] {
        if self.len <= INLINE_SLOTS {
            &mut self.inline[..self.len]
        } else {
            &mut self.heap
        }
    }
    fn as_ref(&self) -> &[Option<NonMaxUsize>] {
        if self.len <= INLINE_SLOTS {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }
}

/// The fields of one match: field name → matched text (`""` for a group that did not take part).
pub struct Captures<'g, 'h> {
    grok: &'g Grok,
    input: &'h str,
    slots: Slots,
}

impl fmt::Debug for Captures<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'g, 'h> Captures<'g, 'h> {
    fn span_of(&self, field: &Field) -> Option<Range<usize>> {
        let group = field.group?;
        let slots = self.slots.as_ref();
        let start = slots.get(group * 2).copied()??;
        let end = slots.get(group * 2 + 1).copied()??;
        Some(start.get()..end.get())
    }

    fn value(&self, field: &Field) -> &'h str {
        self.span_of(field).map_or("", |r| &self.input[r])
    }

    /// The text of `field`: `Some("")` if its group did not take part, `None` if the pattern
    /// has no such field.
    pub fn get(&self, field: &str) -> Option<&'h str> {
        let fields = &self.grok.fields;
        let i = fields.binary_search_by(|f| (*f.name).cmp(field)).ok()?;
        Some(self.value(&fields[i]))
    }

    /// Byte range of `field` in the input, `None` if it did not take part or does not exist.
    pub fn span(&self, field: &str) -> Option<Range<usize>> {
        let fields = &self.grok.fields;
        let i = fields.binary_search_by(|f| (*f.name).cmp(field)).ok()?;
        self.span_of(&fields[i])
    }

    /// Every field with its text, sorted by field name.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'g str, &'h str)> + '_ {
        self.named().map(|(name, value)| (name.as_str(), value))
    }

    /// [`iter`](Self::iter) with the interned names, to write into an event's map.
    pub fn named(&self) -> impl ExactSizeIterator<Item = (&'g FieldName, &'h str)> + '_ {
        let fields: &'g [Field] = &self.grok.fields;
        fields.iter().map(move |f| (&f.name, self.value(f)))
    }

    /// The number of fields (never 0).
    pub fn len(&self) -> usize {
        self.grok.fields.len()
    }

    /// Always false: a match without fields is no match.
    pub fn is_empty(&self) -> bool {
        self.grok.fields.is_empty()
    }

    /// Every capture slot (start and end of each kept group).
    #[cfg(test)]
    fn slots(&self) -> Vec<Option<usize>> {
        self.slots
            .as_ref()
            .iter()
            .map(|s| s.map(NonMaxUsize::get))
            .collect()
    }

    /// The whole match.
    pub fn matched(&self) -> &'h str {
        match self.slots.as_ref() {
            [Some(start), Some(end), ..] => &self.input[start.get()..end.get()],
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests;
