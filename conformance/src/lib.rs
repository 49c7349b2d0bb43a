//! Placeholder crate: its implementation arrives with its own issue.
