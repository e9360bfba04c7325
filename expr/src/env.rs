//! What an expression runs against. The [`Env`] trait gives the typed event bound to `evt`
//! (read during evaluation, written once it ends by the mutating helpers) and the extra
//! variables a [`crate::Context`] declared (`Alert` for profiles, `queue`/`leaky` for scenario
//! conditions, ...), by declaration index. A plain [`Event`] is an `Env` with just `evt`;
//! [`Vars`] binds an optional event plus any values; host types expose fields and methods to
//! expressions through [`HostObject`].

use crate::value::Value;
use palisade_schemas::Event;

/// The evaluation environment of a program.
pub trait Env {
    /// The event bound to `evt`, if the context has one.
    fn event(&self) -> Option<&Event>;
    /// The same event, for the writes of `SetMeta`, `SetParsed`, `UnmarshalJSON`, `ParseKV`,
    /// applied when the evaluation ends.
    fn event_mut(&mut self) -> Option<&mut Event>;
    /// The extra variable declared at `index` by [`crate::Context::declare`]; nil by default.
    fn var(&self, index: usize) -> Value<'_> {
        let _ = index;
        Value::Nil
    }
}

impl Env for Event {
    fn event(&self) -> Option<&Event> {
        Some(self)
    }

    fn event_mut(&mut self) -> Option<&mut Event> {
        Some(self)
    }
}

/// An environment made of an optional event and values for the declared variables, in
/// declaration order.
#[derive(Default)]
pub struct Vars<'a> {
    /// The event bound to `evt`.
    pub event: Option<&'a mut Event>,
    /// The declared variables' values, by declaration index (missing ones are nil).
    pub values: Vec<Value<'a>>,
}

impl<'a> Vars<'a> {
    /// No event, no values.
    pub fn new() -> Self {
        Vars::default()
    }

    /// Binds `evt`.
    pub fn with_event(mut self, event: &'a mut Event) -> Self {
        self.event = Some(event);
        self
    }

    /// Appends the value of the next declared variable.
    pub fn with_value(mut self, value: Value<'a>) -> Self {
        self.values.push(value);
        self
    }
}

impl Env for Vars<'_> {
    fn event(&self) -> Option<&Event> {
        self.event.as_deref()
    }

    fn event_mut(&mut self) -> Option<&mut Event> {
        self.event.as_deref_mut()
    }

    fn var(&self, index: usize) -> Value<'_> {
        self.values.get(index).cloned().unwrap_or(Value::Nil)
    }
}

/// A host value with Go-style fields and methods (`Alert.Remediation`, `Alert.GetScope()`).
/// Unknown fields and methods are run-time errors (`None`).
pub trait HostObject {
    /// The Go type name, for messages (`*models.Alert`).
    fn type_name(&self) -> &'static str;
    /// The field `name`, or `None` if the type has no such field.
    fn field(&self, name: &str) -> Option<Value<'_>>;
    /// Calls method `name`; `None` if the type has no such method, `Some(Err(message))` when
    /// the call fails.
    fn call<'s>(&'s self, name: &str, args: &[Value<'s>]) -> Option<Result<Value<'s>, String>> {
        let _ = (name, args);
        None
    }
}
