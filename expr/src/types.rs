//! Static types for the load-time checks. CrowdSec compiles expressions against a typed
//! environment, so `evt.Foo`, `evt.Parsed.x + 1`, `evt.Meta.x == 1` or `Upper(1)` fail when the
//! file loads. The checker here tracks a coarse type per node and reports an error only when
//! both sides are known and incompatible; anything reached through JSON, closures over unknown
//! arrays, or host objects is `Unknown` and checked at run time.

/// A coarse static type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Unknown,
    Nil,
    Bool,
    Int,
    Float,
    Str,
    Time,
    Duration,
    Weekday,
    /// `[]string`
    StrArray,
    /// `[]any`
    Array,
    /// `map[string]string`
    StrMap,
    /// `map[string]any`
    AnyMap,
    Event,
    Line,
    /// A host object (alert, overflow, ...): checked at run time.
    Object,
}

impl Ty {
    /// Go's spelling, for messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ty::Unknown => "interface {}",
            Ty::Nil => "nil",
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Float => "float64",
            Ty::Str => "string",
            Ty::Time => "time.Time",
            Ty::Duration => "time.Duration",
            Ty::Weekday => "time.Weekday",
            Ty::StrArray => "[]string",
            Ty::Array => "[]interface {}",
            Ty::StrMap => "map[string]string",
            Ty::AnyMap => "map[string]interface {}",
            Ty::Event => "*pipeline.Event",
            Ty::Line => "types.Line",
            Ty::Object => "struct",
        }
    }

    pub(crate) fn is_unknown(self) -> bool {
        matches!(self, Ty::Unknown | Ty::Object)
    }

    pub(crate) fn is_number(self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }

    pub(crate) fn is_array(self) -> bool {
        matches!(self, Ty::StrArray | Ty::Array)
    }

    pub(crate) fn is_map(self) -> bool {
        matches!(self, Ty::StrMap | Ty::AnyMap)
    }

    /// Whether `==` between the two may be true or is at least allowed (expr's ComparableTo).
    pub(crate) fn comparable(self, other: Ty) -> bool {
        self.is_unknown()
            || other.is_unknown()
            || self == Ty::Nil
            || other == Ty::Nil
            || (self.is_number() && other.is_number())
            || (self.is_array() && other.is_array())
            || (self.is_map() && other.is_map())
            || (matches!(self, Ty::Weekday | Ty::Int) && matches!(other, Ty::Weekday | Ty::Int))
            || self == other
    }

    /// Whether a value of type `self` may be passed where `param` is expected.
    pub(crate) fn assignable_to(self, param: Ty) -> bool {
        if self.is_unknown() || param.is_unknown() || self == param {
            return true;
        }
        match param {
            Ty::Int | Ty::Float => self.is_number(),
            Ty::Array | Ty::StrArray => self.is_array() || self == Ty::Nil,
            Ty::AnyMap | Ty::StrMap => self == Ty::Nil || self == Ty::AnyMap,
            Ty::Duration => self == Ty::Nil,
            _ => false,
        }
    }

    /// The element type when iterating.
    pub(crate) fn elem(self) -> Ty {
        match self {
            Ty::StrArray => Ty::Str,
            _ => Ty::Unknown,
        }
    }
}
