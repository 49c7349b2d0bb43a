//! Code written by `ari-codegen` from the ARI declarations; see that crate.

#[rustfmt::skip]
pub mod events;
#[rustfmt::skip]
pub mod models;
#[rustfmt::skip]
pub mod operations;
