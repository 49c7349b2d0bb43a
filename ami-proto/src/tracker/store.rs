//! Compact storage for the tracker: a channel's strings share one
//! allocation, variables share another, and the lookup tables hold hashes
//! and slot numbers instead of second copies of the keys.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// `N` strings in one allocation. A channel has about a dozen short
/// fields; a `Box<str>` each would cost 16 bytes inline plus an
/// allocation (and the allocator's overhead) each.
#[derive(Clone, Debug)]
pub(super) struct Strs<const N: usize> {
    buf: Box<str>,
    /// Where each string ends in `buf`.
    ends: [u16; N],
}

impl<const N: usize> Default for Strs<N> {
    fn default() -> Self {
        Strs {
            buf: Box::default(),
            ends: [0; N],
        }
    }
}

impl<const N: usize> Strs<N> {
    /// String `i` (empty if `i` is out of range).
    pub(super) fn get(&self, i: usize) -> &str {
        let Some(&end) = self.ends.get(i) else {
            return "";
        };
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1],
        };
        self.buf.get(start as usize..end as usize).unwrap_or("")
    }

    /// Replaces the strings given (`None` keeps one), in a single new
    /// allocation, and says whether anything changed. The total is capped
    /// at 64 KiB (offsets are `u16`): what does not fit is cut at a
    /// character boundary. No Asterisk field comes near that.
    pub(super) fn set(&mut self, new: &[Option<&str>; N]) -> bool {
        if !(0..N).any(|i| new[i].is_some_and(|v| v != self.get(i))) {
            return false;
        }
        let len: usize = (0..N)
            .map(|i| new[i].map_or(self.get(i).len(), str::len))
            .sum();
        let mut buf = String::with_capacity(len.min(u16::MAX as usize));
        let mut ends = [0u16; N];
        for (i, end) in ends.iter_mut().enumerate() {
            let value = new[i].unwrap_or_else(|| self.get(i));
            buf.push_str(cut(value, u16::MAX as usize - buf.len()));
            *end = buf.len() as u16;
        }
        self.buf = buf.into_boxed_str();
        self.ends = ends;
        true
    }
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A channel's variables: `name NUL value NUL` pairs in one allocation.
/// AMI values are C strings, so a NUL cannot be in them (one that comes in
/// anyway is replaced by U+FFFD). Lookups scan, which is cheap for the
/// handful of variables a channel carries.
#[derive(Clone, Debug, Default)]
pub(super) struct Vars(Box<str>);

impl Vars {
    /// `(name, value)` in the order first set.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut parts = self.0.split_terminator('\0');
        std::iter::from_fn(move || Some((parts.next()?, parts.next().unwrap_or(""))))
    }

    /// The value of `name` (case as sent).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Sets `name` to `value`, in place if it is there; an empty value
    /// removes it, as Asterisk removes a variable set to nothing. Says
    /// whether anything changed.
    pub(super) fn set(&mut self, name: &str, value: &str) -> bool {
        let name = clean(name);
        let value = clean(value);
        if name.is_empty() || self.get(&name) == Some(&value) {
            return false;
        }
        if value.is_empty() && self.get(&name).is_none() {
            return false;
        }
        let mut out = String::with_capacity(self.0.len() + name.len() + value.len() + 2);
        let mut found = false;
        for (n, v) in self.iter() {
            let v = if n == name {
                found = true;
                if value.is_empty() {
                    continue;
                }
                &*value
            } else {
                v
            };
            push_pair(&mut out, n, v);
        }
        if !found {
            push_pair(&mut out, &name, &value);
        }
        self.0 = out.into_boxed_str();
        true
    }
}

fn push_pair(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push('\0');
    out.push_str(value);
    out.push('\0');
}

/// `s` with any NUL replaced, so that it cannot split a pair.
fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}").into()
    } else {
        s.into()
    }
}

/// A hasher for keys that already are hashes.
#[derive(Default)]
pub(super) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in all the same.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// From the hash of a key (a uniqueid, a channel name) to the slot that
/// holds it. The key itself is only in the slot, so each entry costs 12
/// bytes; the caller confirms a hit against the slot's own key. Two keys
/// with one hash (very unlikely with a random seed) go to `spill`.
#[derive(Debug, Default)]
pub(super) struct Index {
    map: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    spill: Vec<(u64, u32)>,
}

impl Index {
    /// The slot with this hash for which `is` holds.
    pub(super) fn find(&self, hash: u64, mut is: impl FnMut(u32) -> bool) -> Option<u32> {
        if let Some(&slot) = self.map.get(&hash)
            && is(slot)
        {
            return Some(slot);
        }
        self.spill
            .iter()
            .find(|&&(h, s)| h == hash && is(s))
            .map(|&(_, s)| s)
    }

    pub(super) fn insert(&mut self, hash: u64, slot: u32) {
        match self.map.entry(hash) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(slot);
            }
            std::collections::hash_map::Entry::Occupied(_) => self.spill.push((hash, slot)),
        }
    }

    pub(super) fn remove(&mut self, hash: u64, slot: u32) {
        if self.map.get(&hash) == Some(&slot) {
            match self.spill.iter().position(|&(h, _)| h == hash) {
                Some(i) => {
                    let (_, other) = self.spill.swap_remove(i);
                    self.map.insert(hash, other);
                }
                None => {
                    self.map.remove(&hash);
                }
            }
        } else if let Some(i) = self.spill.iter().position(|&e| e == (hash, slot)) {
            self.spill.swap_remove(i);
        }
    }
}

/// Items in numbered slots; a freed slot is reused. Slot numbers (`u32`)
/// stand in for keys wherever one object points at another.
#[derive(Debug)]
pub(super) struct Slab<T> {
    items: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    pub(super) fn insert(&mut self, item: T) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.items[slot as usize] = Some(item);
                slot
            }
            None => {
                self.items.push(Some(item));
                (self.items.len() - 1) as u32
            }
        }
    }

    pub(super) fn remove(&mut self, slot: u32) -> Option<T> {
        let item = self.items.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        if self.free.len() == self.items.len() {
            // Everything is gone: give the memory of a past peak back.
            self.items = Vec::new();
            self.free = Vec::new();
        }
        Some(item)
    }

    pub(super) fn get(&self, slot: u32) -> Option<&T> {
        self.items.get(slot as usize)?.as_ref()
    }

    pub(super) fn get_mut(&mut self, slot: u32) -> Option<&mut T> {
        self.items.get_mut(slot as usize)?.as_mut()
    }

    pub(super) fn len(&self) -> usize {
        self.items.len() - self.free.len()
    }

    /// `(slot, item)` in slot order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((i as u32, t.as_ref()?)))
    }

    /// The slots in use.
    pub(super) fn slots(&self) -> Vec<u32> {
        self.iter().map(|(s, _)| s).collect()
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.items.iter_mut().flatten()
    }
}
