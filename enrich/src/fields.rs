//! [`Fields`]: what one enrichment sets in `evt.Enriched`, a handful of pairs kept in a `Vec`
//! rather than a map of its own, since they are merged into the event's map right away (one
//! allocation and no hashing per call, where a `HashMap` costs both, then hashes every key
//! again in the merge).

use palisade_schemas::FieldName;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::Index;

/// Field name → value, each name at most once (a later [`insert`](Fields::insert) replaces
/// the value). Compares as a map: the order of the pairs does not matter.
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(FieldName, String)>);

impl Fields {
    /// No fields.
    pub fn new() -> Self {
        Fields(Vec::new())
    }

    /// Sets `name` to `value`; the value it replaces, if any.
    pub fn insert(&mut self, name: impl Into<FieldName>, value: String) -> Option<String> {
        let name = name.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => Some(std::mem::replace(v, value)),
            None => {
                self.0.push((name, value));
                None
            }
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&String> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no field ("nothing found").
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs, in the order they were first set.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

impl PartialEq for Fields {
    fn eq(&self, other: &Fields) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(n, v)| other.get(n).is_some_and(|o| o == v))
    }
}

impl<S: BuildHasher> PartialEq<HashMap<String, String, S>> for Fields {
    fn eq(&self, other: &HashMap<String, String, S>) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(n, v)| other.get(n).is_some_and(|o| o == v))
    }
}

impl Index<&str> for Fields {
    type Output = String;

    /// The value of `name`; panics if it is not set, as a map's index does.
    fn index(&self, name: &str) -> &String {
        match self.get(name) {
            Some(v) => v,
            None => panic!("no enrichment field {name:?}"),
        }
    }
}

impl FromIterator<(String, String)> for Fields {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        pairs
            .into_iter()
            .map(|(n, v)| (FieldName::from(n), v))
            .collect()
    }
}

impl FromIterator<(FieldName, String)> for Fields {
    fn from_iter<I: IntoIterator<Item = (FieldName, String)>>(pairs: I) -> Self {
        let mut fields = Fields::new();
        for (n, v) in pairs {
            fields.insert(n, v);
        }
        fields
    }
}

impl IntoIterator for Fields {
    type Item = (FieldName, String);
    type IntoIter = std::vec::IntoIter<(FieldName, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<S: BuildHasher + Default> From<Fields> for HashMap<String, String, S> {
    fn from(fields: Fields) -> Self {
        fields
            .0
            .into_iter()
            .map(|(n, v)| (String::from(n), v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_behave_as_a_map() {
        let mut f = Fields::new();
        assert!(f.is_empty());
        assert_eq!(f.insert("a", "1".into()), None);
        assert_eq!(f.insert("b", "2".into()), None);
        assert_eq!(f.insert("a", "3".into()), Some("1".into()));
        assert_eq!(f.len(), 2);
        assert_eq!(f["a"], "3");
        assert_eq!(f.get("c"), None);
        let other: Fields = [("b", "2"), ("a", "3")]
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .into_iter()
            .collect();
        assert_eq!(f, other);
        let map: HashMap<String, String> = HashMap::from(f.clone());
        assert_eq!(f, map);
        assert_ne!(f, Fields::new());
        // The last value of a name wins, as in a map built from the same pairs.
        let dup: Fields = [("x", "1"), ("x", "2")]
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .into_iter()
            .collect();
        assert_eq!(dup.len(), 1);
        assert_eq!(dup["x"], "2");
    }
}
