//! A compiled parser node and its execution, exactly as CrowdSec's `node.process` behaves
//! (§2.4 of the engine spec): filter, whitelist, grok, stashes, children, statics, promotion.

use super::simple_filter::SimpleFilter;
use super::statics::{value_to_string, Static};
use super::whitelist::Whitelist;
use crate::grok::Grok;
use palisade_expr::{Program, Stash};
use palisade_schemas::{Event, EventType, FieldName};
use std::sync::Arc;
use std::time::Duration;

/// What a grok reads.
pub(crate) enum GrokInput {
    Raw,
    Parsed(String),
    Expr(Program),
}

/// The grok of a node.
pub(crate) struct GrokNode {
    pub(crate) grok: Arc<Grok>,
    pub(crate) input: GrokInput,
    pub(crate) statics: Vec<Static>,
}

/// Matches `grok` on `input` and writes every field into `parsed`; whether it matched (a match
/// that exports no field does not count).
#[inline]
fn capture_into(grok: &Grok, input: &str, parsed: &mut palisade_schemas::FieldMap) -> bool {
    let Some(caps) = grok.captures(input).filter(|c| !c.is_empty()) else {
        return false;
    };
    parsed.reserve(caps.len());
    for (k, v) in caps.named() {
        parsed.insert(k.clone(), v.to_string());
    }
    true
}

/// A stash write.
pub(crate) struct StashWrite {
    pub(crate) name: String,
    pub(crate) key: Program,
    pub(crate) value: Program,
    pub(crate) ttl: Duration,
}

/// A compiled node.
pub struct Node {
    pub(crate) name: String,
    pub(crate) filter: Option<Program>,
    /// The filter evaluated natively, when it is a single string comparison.
    pub(crate) simple_filter: Option<SimpleFilter>,
    pub(crate) whitelist: Option<Whitelist>,
    pub(crate) grok: Option<GrokNode>,
    pub(crate) stash: Vec<StashWrite>,
    pub(crate) children: Vec<Node>,
    pub(crate) statics: Vec<Static>,
    pub(crate) next_stage: bool,
    pub(crate) debug: bool,
}

/// What a node needs from the stage runner.
pub(crate) struct NodeCtx<'a> {
    /// Every stage, in order.
    pub(crate) stages: &'a [String],
    pub(crate) stash: &'a Stash,
}

impl Node {
    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it promotes the event to the next stage on success.
    pub fn promotes(&self) -> bool {
        self.next_stage
    }

    fn apply_statics(&self, statics: &[Static], evt: &mut Event) {
        for s in statics {
            if let Some(w) = s.apply(evt) {
                if self.debug {
                    tracing::debug!(node = %self.name, "{w}");
                } else {
                    tracing::trace!(node = %self.name, "{w}");
                }
            }
        }
    }

    /// Runs the node on `evt`; returns whether it succeeded.
    pub(crate) fn process(&self, evt: &mut Event, ctx: &NodeCtx<'_>) -> bool {
        // 1. The filter: false, an error or a non-bool fail the node with no side effect.
        if let Some(f) = &self.filter {
            let pass = match &self.simple_filter {
                Some(s) => {
                    let pass = s.eval(evt);
                    debug_assert_eq!(pass, f.eval_filter(evt), "{:?}", f.source());
                    pass
                }
                None => f.eval_filter(evt),
            };
            if !pass {
                return false;
            }
        }
        // 2. The whitelist.
        let mut whitelisted = false;
        if let Some(wl) = &self.whitelist {
            whitelisted = wl.matches(evt);
            if whitelisted && !evt.whitelisted {
                evt.whitelisted = true;
                evt.whitelist_reason = wl.reason.clone();
                if evt.kind == EventType::Overflow {
                    if let Some(o) = evt.overflow.as_mut() {
                        o.whitelisted = true;
                    }
                }
            }
        }
        // 3. The grok: a failure is not a return, children still run.
        let mut ok = true;
        let mut grok_ok = false;
        if let Some(g) = &self.grok {
            ok = false;
            let matched = match &g.input {
                // The line is borrowed: no copy of it per grok.
                GrokInput::Raw => capture_into(&g.grok, &evt.line.raw, &mut evt.parsed),
                // The input is matched where it is (one lookup, nothing moved when the grok
                // does not match, which is most of the time); on a match the values are copied
                // out before the map is written. A grok that exports that very field overwrites
                // it with its capture.
                GrokInput::Parsed(k) => match evt.parsed.get(k.as_str()) {
                    Some(input) => match g.grok.captures(input).filter(|c| !c.is_empty()) {
                        Some(caps) => {
                            let fields: Vec<(&FieldName, String)> =
                                caps.named().map(|(f, v)| (f, v.to_string())).collect();
                            evt.parsed.reserve(fields.len());
                            for (f, v) in fields {
                                evt.parsed.insert(f.clone(), v);
                            }
                            true
                        }
                        None => false,
                    },
                    None => false,
                },
                GrokInput::Expr(p) => match p.eval_with(evt, value_to_string) {
                    Ok(Some(input)) => capture_into(&g.grok, &input, &mut evt.parsed),
                    _ => false,
                },
            };
            if matched {
                self.apply_statics(&g.statics, evt);
                ok = true;
                grok_ok = true;
            }
        }
        // 4. Stashes, when the grok matched or there is none.
        if grok_ok || self.grok.is_none() {
            for s in &self.stash {
                let key = s.key.eval_string(evt);
                let value = s.value.eval_string(evt);
                if let (Ok(k), Ok(v)) = (key, value) {
                    ctx.stash.set(&s.name, &k, &v, Some(s.ttl));
                }
            }
        }
        // 5. Children: with no grok match, the last child evaluated decides.
        for child in &self.children {
            if child.process(evt, ctx) {
                ok = true;
                if self.next_stage {
                    break;
                }
            } else if !grok_ok {
                ok = false;
            }
        }
        // 6. A failed node keeps what its grok and children already did.
        if !ok {
            return false;
        }
        // 7. Statics, unless the node has a whitelist that did not match.
        if !self.statics.is_empty() && (whitelisted || self.whitelist.is_none()) {
            self.apply_statics(&self.statics, evt);
        }
        // 8. Promotion, relative to the event's stage at this point: a child's promotion and its
        // parent's compound; at the last stage it does nothing.
        if self.next_stage {
            if let Some(i) = ctx.stages.iter().position(|s| *s == evt.stage) {
                if let Some(next) = ctx.stages.get(i + 1) {
                    evt.stage = next.clone();
                }
            }
        }
        true
    }
}
