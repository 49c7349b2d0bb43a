//! Who wants which events: all of them, by type, or by object.
//!
//! Routing one event costs one lookup per object it names plus one per type,
//! whatever the number of subscriptions.

use crate::{Event, ObjectKind, ObjectRef};
use std::collections::HashMap;

/// A map keyed by the session's sequential ids ([`SubscriptionId`],
/// [`RawRequestId`](crate::RawRequestId)): they need no DoS-resistant hash,
/// one multiplication spreads them.
pub type IdMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

/// The hasher of [`IdMap`], for keys that hash as one integer.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached for integer ids; any key still hashes correctly.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The by-type index: event type names are short, and the keys are the
/// application's own (lookups of what the server sends cannot add any).
type NameMap<V> = proto_common::NameMap<String, V>;

/// Identifies a subscription of one session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u64);

/// The subscriptions one event goes to, in ascending order: up to
/// [`Subscribers::INLINE`] held without allocating (the usual case: the
/// app's stream and a call's), more in a vector. Reads as a slice.
#[derive(Clone, Default)]
pub struct Subscribers {
    inline: [SubscriptionId; Subscribers::INLINE],
    len: usize,
    more: Vec<SubscriptionId>,
}

impl Subscribers {
    /// How many are held without allocating.
    pub const INLINE: usize = 4;

    /// Copies `ids`.
    pub fn from_slice(ids: &[SubscriptionId]) -> Subscribers {
        let mut subscribers = Subscribers::default();
        if ids.len() <= Self::INLINE {
            subscribers.inline[..ids.len()].copy_from_slice(ids);
            subscribers.len = ids.len();
        } else {
            subscribers.more = ids.to_vec();
        }
        subscribers
    }
}

impl std::ops::Deref for Subscribers {
    type Target = [SubscriptionId];

    fn deref(&self) -> &[SubscriptionId] {
        if self.more.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.more
        }
    }
}

impl<'a> IntoIterator for &'a Subscribers {
    type Item = &'a SubscriptionId;
    type IntoIter = std::slice::Iter<'a, SubscriptionId>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq for Subscribers {
    fn eq(&self, other: &Subscribers) -> bool {
        **self == **other
    }
}

impl Eq for Subscribers {}

impl std::fmt::Debug for Subscribers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// What a subscription receives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Filter {
    /// Every event.
    All,
    /// Events whose `type` is this name (known or not).
    Type(String),
    /// Events naming this object. The subscription ends by itself when the
    /// object is gone: channel or bridge destroyed, playback finished,
    /// recording finished or failed.
    Object(ObjectRef),
}

const KINDS: usize = 6;

fn slot(kind: ObjectKind) -> usize {
    match kind {
        ObjectKind::Channel => 0,
        ObjectKind::Bridge => 1,
        ObjectKind::Playback => 2,
        ObjectKind::Recording => 3,
        ObjectKind::Endpoint => 4,
        ObjectKind::DeviceState => 5,
    }
}

/// The subscription index.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    next: u64,
    filters: IdMap<SubscriptionId, Filter>,
    all: Vec<SubscriptionId>,
    by_type: NameMap<Subscribed>,
    /// Keys are inline up to 24 bytes and one subscriber needs no list: with
    /// thousands of objects, a lookup touches one table slot, not three
    /// places on the heap.
    by_object: [HashMap<crate::Str, Subscribed>; KINDS],
}

/// The subscriptions of one type or object; almost always one.
#[derive(Debug)]
enum Subscribed {
    One(SubscriptionId),
    Many(Vec<SubscriptionId>),
}

impl Subscribed {
    fn push(&mut self, id: SubscriptionId) {
        match self {
            Subscribed::One(first) => *self = Subscribed::Many(vec![*first, id]),
            Subscribed::Many(list) => list.push(id),
        }
    }

    /// Removes `id`; `true` when none is left.
    fn remove(&mut self, id: SubscriptionId) -> bool {
        match self {
            Subscribed::One(only) => *only == id,
            Subscribed::Many(list) => {
                if let Some(i) = list.iter().position(|x| *x == id) {
                    list.swap_remove(i);
                }
                list.is_empty()
            }
        }
    }

    fn as_slice(&self) -> &[SubscriptionId] {
        match self {
            Subscribed::One(id) => std::slice::from_ref(id),
            Subscribed::Many(list) => list,
        }
    }
}

/// Adds `id` under `key`.
fn add<K: std::hash::Hash + Eq, S: std::hash::BuildHasher>(
    map: &mut HashMap<K, Subscribed, S>,
    key: K,
    id: SubscriptionId,
) {
    map.entry(key)
        .and_modify(|s| s.push(id))
        .or_insert(Subscribed::One(id));
}

/// Removes `id` from under `key`, and `key` once it has none.
fn remove<K, Q, S>(map: &mut HashMap<K, Subscribed, S>, key: &Q, id: SubscriptionId)
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
    S: std::hash::BuildHasher,
{
    if map.get_mut(key).is_some_and(|s| s.remove(id)) {
        map.remove(key);
    }
}

impl Registry {
    pub fn subscribe(&mut self, filter: Filter) -> SubscriptionId {
        self.next += 1;
        let id = SubscriptionId(self.next);
        match &filter {
            Filter::All => self.all.push(id),
            Filter::Type(t) => add(&mut self.by_type, t.clone(), id),
            Filter::Object(o) => add(&mut self.by_object[slot(o.kind)], o.id.as_str().into(), id),
        }
        self.filters.insert(id, filter);
        id
    }

    pub fn unsubscribe(&mut self, id: SubscriptionId) -> Option<Filter> {
        let filter = self.filters.remove(&id)?;
        match &filter {
            Filter::All => self.all.retain(|x| *x != id),
            Filter::Type(t) => remove(&mut self.by_type, t.as_str(), id),
            Filter::Object(o) => remove(&mut self.by_object[slot(o.kind)], o.id.as_str(), id),
        }
        Some(filter)
    }

    pub fn len(&self) -> usize {
        self.filters.len()
    }

    pub fn filter(&self, id: SubscriptionId) -> Option<&Filter> {
        self.filters.get(&id)
    }

    /// The subscriptions that receive `event`, each once, in subscription order.
    pub fn route(&self, event: &Event, out: &mut Vec<SubscriptionId>) {
        out.extend_from_slice(&self.all);
        if let Some(subs) = self.by_type.get(event.type_name()) {
            out.extend_from_slice(subs.as_slice());
        }
        event.for_each_object(&mut |kind, id| {
            if let Some(subs) = self.by_object[slot(kind)].get(id) {
                out.extend_from_slice(subs.as_slice());
            }
        });
        if out.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
    }

    /// Ends the subscriptions of objects that `event` says are gone.
    pub fn end_finished(&mut self, event: &Event, ended: &mut Vec<(SubscriptionId, ObjectRef)>) {
        let gone = match event {
            Event::ChannelDestroyed(e) => {
                ObjectRef::new(ObjectKind::Channel, e.channel.id.as_str())
            }
            Event::BridgeDestroyed(e) => ObjectRef::new(ObjectKind::Bridge, e.bridge.id.as_str()),
            Event::PlaybackFinished(e) => {
                ObjectRef::new(ObjectKind::Playback, e.playback.id.as_str())
            }
            Event::RecordingFinished(e) => {
                ObjectRef::new(ObjectKind::Recording, e.recording.name.as_str())
            }
            Event::RecordingFailed(e) => {
                ObjectRef::new(ObjectKind::Recording, e.recording.name.as_str())
            }
            _ => return,
        };
        if let Some(subs) = self.by_object[slot(gone.kind)].remove(gone.id.as_str()) {
            for &id in subs.as_slice() {
                self.filters.remove(&id);
                ended.push((id, gone.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hasher};

    #[test]
    fn subscribers_read_as_the_slice_they_came_from() {
        let ids: Vec<SubscriptionId> = (1..=9).map(SubscriptionId).collect();
        for n in 0..=ids.len() {
            let subscribers = Subscribers::from_slice(&ids[..n]);
            assert_eq!(*subscribers, ids[..n]);
            assert_eq!(subscribers.clone(), subscribers);
            assert_eq!(subscribers.iter().count(), n);
            assert_eq!(format!("{subscribers:?}"), format!("{:?}", &ids[..n]));
        }
        assert_ne!(
            Subscribers::from_slice(&ids[..2]),
            Subscribers::from_slice(&ids[1..3])
        );
    }

    #[test]
    fn id_map_keeps_every_id_apart() {
        let mut map = IdMap::default();
        for i in 0..10_000u64 {
            map.insert(SubscriptionId(i), i * 3);
        }
        assert_eq!(map.len(), 10_000);
        assert!((0..10_000u64).all(|i| map.get(&SubscriptionId(i)) == Some(&(i * 3))));
        assert_eq!(map.get(&SubscriptionId(10_000)), None);
        // The table picks buckets with the low bits and tags with the top 7:
        // sequential ids must vary in both.
        let hashes: Vec<u64> = (0..256u64)
            .map(|i| {
                std::hash::BuildHasherDefault::<IdHasher>::default().hash_one(SubscriptionId(i))
            })
            .collect();
        let low: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 0xff).collect();
        let top: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert!(
            low.len() > 128 && top.len() > 64,
            "{} {}",
            low.len(),
            top.len()
        );
        // Keys hashed as bytes still work.
        let mut a = IdHasher::default();
        let mut b = IdHasher::default();
        a.write(b"bench-1");
        b.write(b"bench-2");
        assert_ne!(a.finish(), b.finish());
    }
}
