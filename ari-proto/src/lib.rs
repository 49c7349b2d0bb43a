//! Sans-IO core of an ARI client. (Crate docs are written with the session.)

#![forbid(unsafe_code)]

pub mod codec;
pub mod encode;
mod generated;
mod operation;

pub use generated::events::{self, Event};
pub use generated::models;
pub use generated::operations as ops;
pub use operation::*;
