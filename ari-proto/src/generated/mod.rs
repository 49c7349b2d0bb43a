//! Code written by `ari-codegen` from the ARI declarations; see that crate.

pub mod events;
pub mod models;
pub mod operations;
