//! Which subscriptions an event goes to: every event, events by name, by a
//! predicate on the name, or by typed class, in any combination.
//!
//! The subscriptions an event name reaches are worked out the first time
//! that name arrives and kept, so routing an event costs one lookup
//! whatever the number of subscriptions and however they select.

use crate::Event;
use proto_common::NameMap;
use std::fmt;
use std::sync::Arc;

/// An event type of [`events`](crate::events), for subscribing by typed
/// class and for reading an [`Event`] as that type.
pub trait EventType: Sized {
    /// `Event:` as Asterisk sends it.
    const NAME: &'static str;
    /// `event` as this type, if it is one.
    fn from_event(event: &Event) -> Option<&Self>;
}

impl Event {
    /// This event as the type `T`, if it is one:
    /// `event.typed::<events::Hangup>()`.
    pub fn typed<T: EventType>(&self) -> Option<&T> {
        T::from_event(self)
    }
}

type Predicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Which events a subscription wants: those that any of its parts selects.
/// Parts combine with [`or`](Selector::or); an event selected by several
/// parts is still delivered once.
///
/// ```
/// use ami_proto::{Selector, events};
///
/// let calls = Selector::event::<events::Newchannel>()
///     .or(Selector::name("hangup"))
///     .or(Selector::matching(|name| name.starts_with("Dial")));
/// assert!(calls.matches("Hangup"));
/// assert!(calls.matches("DialBegin"));
/// assert!(!calls.matches("VarSet"));
/// ```
#[derive(Clone, Default)]
pub struct Selector {
    all: bool,
    names: Vec<Box<str>>,
    predicates: Vec<Predicate>,
}

impl Selector {
    /// Every event.
    pub fn all() -> Selector {
        Selector {
            all: true,
            ..Selector::default()
        }
    }

    /// Events of this name, ASCII case ignored (as Asterisk's own event
    /// names are matched), known to this crate or not.
    pub fn name(name: impl Into<Box<str>>) -> Selector {
        Selector {
            names: vec![name.into()],
            ..Selector::default()
        }
    }

    /// Events of any of these names, ASCII case ignored.
    pub fn names<I: IntoIterator<Item = S>, S: Into<Box<str>>>(names: I) -> Selector {
        Selector {
            names: names.into_iter().map(Into::into).collect(),
            ..Selector::default()
        }
    }

    /// Events of the typed class `T`, e.g. `Selector::event::<events::Hangup>()`.
    pub fn event<T: EventType>() -> Selector {
        Selector::name(T::NAME)
    }

    /// Events whose name the predicate accepts. It sees the name of a
    /// known event as its type's `NAME`, of an unknown one as received,
    /// and is asked once per distinct name, not once per event: it must
    /// depend on the name alone. A regular expression fits here:
    /// `Selector::matching(move |name| re.is_match(name))`.
    pub fn matching(predicate: impl Fn(&str) -> bool + Send + Sync + 'static) -> Selector {
        Selector {
            predicates: vec![Arc::new(predicate)],
            ..Selector::default()
        }
    }

    /// Events this selector or `other` selects.
    pub fn or(mut self, other: Selector) -> Selector {
        self.all |= other.all;
        self.names.extend(other.names);
        self.predicates.extend(other.predicates);
        self
    }

    /// Whether an event of this name is selected.
    pub fn matches(&self, name: &str) -> bool {
        self.all
            || self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
            || self.predicates.iter().any(|p| p(name))
    }
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selector")
            .field("all", &self.all)
            .field("names", &self.names)
            .field("predicates", &self.predicates.len())
            .finish()
    }
}

/// A subscription's number in its [`Router`]; numbers of removed
/// subscriptions are given out again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(u32);

impl SubscriptionId {
    /// The number, from 0: fit for indexing a `Vec` of the caller's sinks.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Distinct event names whose routes are kept; past it they are worked out
/// again. Asterisk sends a few hundred names; a server inventing a new one
/// per event costs time, not memory.
const MAX_ROUTES: usize = 4096;

/// The subscriptions of one connection, and the route of each event name.
#[derive(Debug, Default)]
pub struct Router {
    selectors: Vec<Option<Selector>>,
    free: Vec<u32>,
    routes: NameMap<Box<str>, Box<[SubscriptionId]>>,
}

impl Router {
    /// No subscriptions.
    pub fn new() -> Router {
        Router::default()
    }

    /// Adds a subscription.
    pub fn subscribe(&mut self, selector: Selector) -> SubscriptionId {
        self.routes.clear();
        match self.free.pop() {
            Some(slot) => {
                self.selectors[slot as usize] = Some(selector);
                SubscriptionId(slot)
            }
            None => {
                let slot =
                    u32::try_from(self.selectors.len()).expect("fewer than 2^32 subscriptions");
                self.selectors.push(Some(selector));
                SubscriptionId(slot)
            }
        }
    }

    /// Removes a subscription; an unknown or removed one is ignored.
    pub fn unsubscribe(&mut self, id: SubscriptionId) {
        if let Some(slot) = self.selectors.get_mut(id.index())
            && slot.take().is_some()
        {
            self.free.push(id.0);
            self.routes.clear();
        }
    }

    /// How many subscriptions there are.
    pub fn len(&self) -> usize {
        self.selectors.len() - self.free.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The subscriptions an event of this name goes to, each once, in the
    /// order they were made (lowest number first).
    pub fn route(&mut self, name: &str) -> &[SubscriptionId] {
        if !self.routes.contains_key(name) {
            if self.routes.len() >= MAX_ROUTES {
                self.routes.clear();
            }
            let ids: Box<[SubscriptionId]> = self
                .selectors
                .iter()
                .enumerate()
                .filter(|(_, s)| s.as_ref().is_some_and(|s| s.matches(name)))
                .map(|(i, _)| SubscriptionId(i as u32))
                .collect();
            self.routes.insert(name.into(), ids);
        }
        &self.routes[name]
    }
}
