//! The expression language on arbitrary text, which must never panic: the input up to its first
//! NUL byte is an expression compiled with `Context::event()`; when it compiles it is evaluated
//! (as a value, a filter, a string, and a second time after its own writes) on an event whose
//! `Meta`, `Parsed`, `Enriched`, labels and `Unmarshaled` are filled from the rest of the input.
//!
//! `cargo fuzz run expr` (see ../README.md).

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_expr::{Context, Program};
use palisade_schemas::Event;
use std::sync::OnceLock;

fn context() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(Context::event)
}

/// `key \x01 value \x01 key \x01 value ...`, the pairs spread over the maps; a segment that is
/// a JSON object is merged into `Unmarshaled` as well.
fn event(material: &[u8]) -> Event {
    let text = String::from_utf8_lossy(material);
    let mut e = Event::default();
    e.line.raw = text.to_string();
    e.line.module = "file".into();
    e.line.labels.insert("type".into(), "syslog".into());
    // A few keys that hub expressions read, so that short inputs reach past the lookups.
    e.meta.insert("source_ip".into(), "203.0.113.9".into());
    e.parsed.insert("program".into(), "sshd".into());
    e.parsed.insert("message".into(), text.to_string());
    let segments: Vec<&str> = text.split('\u{1}').collect();
    for (i, pair) in segments.chunks(2).enumerate() {
        let key = pair[0].to_string();
        let value = pair.get(1).copied().unwrap_or("").to_string();
        match i % 5 {
            0 => e.meta.insert(key.into(), value),
            1 => e.parsed.insert(key.into(), value),
            2 => e.enriched.insert(key.into(), value),
            3 => e.line.labels.insert(key.into(), value),
            _ => {
                e.unmarshaled
                    .insert(key, serde_json::Value::String(value.clone()));
                None
            }
        };
    }
    for s in &segments {
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(s) {
            e.unmarshaled.extend(m);
        }
    }
    e.str_time = segments.first().copied().unwrap_or("").to_string();
    e
}

fuzz_target!(|data: &[u8]| {
    let (source, material) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let source = String::from_utf8_lossy(source);
    let Ok(program) = Program::compile(&source, context()) else {
        return;
    };
    let _ = program.source();
    let _ = program.mutates();
    let mut e = event(material);
    let _ = program.eval(&mut e);
    let _ = program.eval_filter(&mut e);
    let _ = program.eval_bool(&mut e);
    let _ = program.eval_string(&mut e);
    if let Ok(v) = program.eval(&mut e) {
        let _ = v.to_json();
        let _ = v.type_name();
    }
});
