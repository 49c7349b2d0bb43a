//! What the sans-IO cores of the Asterisk clients share: secrets whose
//! `Debug` never shows them, Asterisk release numbers, the reconnect
//! schedule with its seeded random source, and a fast hash for event names. No I/O, no clock.

#![forbid(unsafe_code)]

mod backoff;
mod hash;
mod secret;
mod version;

pub use backoff::{BackoffConfig, SeededRng, random_seed};
pub use hash::{NameHasher, NameMap};
pub use secret::Secret;
pub use version::Version;
