//! [`FieldName`], the key type of the event's string maps ([`FieldMap`](crate::FieldMap)).
//!
//! Every parsed line gets a few dozen keys (an nginx access line ends with 25 `Parsed`, 13
//! `Meta` and 9 `Enriched` ones), nearly all of them names written in configuration: grok
//! field names, static destinations, enricher outputs. Those are interned once, at load
//! ([`FieldName::interned`]), and copying an interned name into a map allocates nothing; a name
//! made at run time (a JSON key, a `SetMeta` key computed by an expression) is owned as before.
//! Either way a name compares, hashes, orders and serializes as its string, so maps are read
//! with `&str` keys as before.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{Mutex, OnceLock};

/// A field name: interned (copied for free) or owned.
#[derive(Clone)]
pub struct FieldName(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Owned(Box<str>),
}

/// Interned names are never freed; this many distinct ones at most (configuration names are
/// a few hundred), beyond which names are owned instead.
const MAX_INTERNED: usize = 1 << 16;

fn interner() -> &'static Mutex<HashSet<&'static str>> {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    NAMES.get_or_init(|| Mutex::new(HashSet::new()))
}

impl FieldName {
    /// A name known at compile time.
    pub const fn from_static(name: &'static str) -> FieldName {
        FieldName(Repr::Static(name))
    }

    /// The interned copy of `name`, for names that come from configuration and are written
    /// into events again and again.
    pub fn interned(name: &str) -> FieldName {
        let mut names = interner().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&s) = names.get(name) {
            return FieldName(Repr::Static(s));
        }
        if names.len() >= MAX_INTERNED {
            return FieldName::from(name);
        }
        let leaked: &'static str = Box::leak(name.into());
        names.insert(leaked);
        FieldName(Repr::Static(leaked))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Owned(s) => s,
        }
    }
}

impl Deref for FieldName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for FieldName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for FieldName {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl Hash for FieldName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq for FieldName {
    fn eq(&self, other: &FieldName) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for FieldName {}

impl PartialOrd for FieldName {
    fn partial_cmp(&self, other: &FieldName) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FieldName {
    fn cmp(&self, other: &FieldName) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialEq<str> for FieldName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for FieldName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for FieldName {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl From<String> for FieldName {
    fn from(name: String) -> FieldName {
        FieldName(Repr::Owned(name.into_boxed_str()))
    }
}

impl From<&str> for FieldName {
    fn from(name: &str) -> FieldName {
        FieldName(Repr::Owned(name.into()))
    }
}

impl From<&String> for FieldName {
    fn from(name: &String) -> FieldName {
        FieldName::from(name.as_str())
    }
}

impl From<FieldName> for String {
    fn from(name: FieldName) -> String {
        match name.0 {
            Repr::Static(s) => s.to_string(),
            Repr::Owned(s) => s.into_string(),
        }
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for FieldName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FieldName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FieldName, D::Error> {
        String::deserialize(d).map(FieldName::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn interned_and_owned_names_are_the_same_key() {
        let a = FieldName::interned("source_ip");
        let b = FieldName::interned(&String::from("source_ip"));
        // One copy per distinct name.
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        let owned = FieldName::from("source_ip".to_string());
        assert_eq!(a, owned);
        let mut m: HashMap<FieldName, u8> = HashMap::new();
        m.insert(owned, 1);
        m.insert(a.clone(), 2);
        assert_eq!(m.len(), 1);
        assert_eq!(m.get("source_ip"), Some(&2));
        assert_eq!(a, "source_ip");
        assert_eq!(String::from(a.clone()), "source_ip");
        assert_eq!(format!("{a} {a:?}"), "source_ip \"source_ip\"");
        let (low, high) = (
            FieldName::from_static("a"),
            FieldName::from(String::from("b")),
        );
        assert!(low < high);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"source_ip\"");
        assert_eq!(serde_json::from_str::<FieldName>(&json).unwrap(), a);
    }
}
