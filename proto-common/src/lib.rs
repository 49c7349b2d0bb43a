//! What the sans-IO cores of the Asterisk clients share: secrets whose
//! `Debug` never shows them, Asterisk release numbers, and the reconnect
//! schedule with its seeded random source. No I/O, no clock.

#![forbid(unsafe_code)]

mod backoff;
mod secret;
mod version;

pub use backoff::{BackoffConfig, SeededRng};
pub use secret::Secret;
pub use version::Version;
