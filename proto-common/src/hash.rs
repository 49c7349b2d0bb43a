//! A fast hasher for short names (event types), keyed by what the
//! application subscribes to.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// A multiplicative hasher for short names: an event type name hashes in a
/// few instructions, where SipHash takes tens of nanoseconds. Not resistant
/// to chosen keys: use it where the keys are few or the application's own.
#[derive(Debug, Default, Clone, Copy)]
pub struct NameHasher(u64);

const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

impl std::hash::Hasher for NameHasher {
    fn finish(&self) -> u64 {
        // The table picks buckets with the low bits and tags with the top 7.
        (self.0 ^ (self.0 >> 32)).wrapping_mul(SEED)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in chunks.by_ref() {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
        for &b in chunks.remainder() {
            self.write_u8(b);
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(SEED);
    }
}

/// A map keyed by names, hashed with [`NameHasher`].
pub type NameMap<K, V> = HashMap<K, V, BuildHasherDefault<NameHasher>>;
