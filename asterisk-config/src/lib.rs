//! Asterisk's configuration files (`*.conf`), read exactly as Asterisk's
//! own parser (`main/config.c`) reads them, and edited without losing a
//! byte of what the edit does not touch.
//!
//! Three layers, each usable alone:
//!
//! 1. **Syntax** ([`Document`]): the file as lines, every byte kept
//!    (comments, blank lines, whitespace, CRLF, a BOM, lines too long for
//!    Asterisk), each line classified with Asterisk's rules. Parsing never
//!    fails and writing back gives the same bytes. Edits
//!    ([`Document::set`], [`Document::add_section`], ...) change only the
//!    lines they are about and write new lines the way Asterisk's own
//!    writer does.
//! 2. **Reading** ([`Loader`]): what Asterisk makes of the file: sections
//!    in order, templates, inheritance (the parents' variables first),
//!    `(+)` additions, `+=`, repeated sections and keys, `#include` and
//!    `#tryinclude` (with globs, braces, the depth limit), `#exec` only on
//!    request. The loader reads no file itself: it asks its caller
//!    ([`Request`]), so it works the same from sync or async code, from
//!    memory ([`MemoryResolver`]) or from a directory ([`FsResolver`]).
//!    Errors that make Asterisk reject the whole file are [`LoadError`]s
//!    with file and line; what Asterisk only logs is in
//!    [`Config::diagnostics`].
//! 3. **Queries** ([`Config`], [`Section`]): sections by name
//!    (case-insensitive), the first value of a variable as Asterisk's
//!    `ast_variable_retrieve` gives it (an inherited value comes first), or
//!    the last, or all; typed getters with Asterisk's boolean words and
//!    integer rules ([`value`]).
//!
//! ```
//! use asterisk_config::{Document, MemoryResolver, load};
//!
//! let text = "[base](!)\ncontext = default\n\n[alice](base)\ncontext = office ; hers\n";
//! let mut files = MemoryResolver::new("/etc/asterisk").with("pjsip.conf", text);
//! let config = load("pjsip.conf", &mut files).unwrap();
//! let alice = config.section("alice").unwrap();
//! assert_eq!(alice.get("context"), Some("default")); // as ast_variable_retrieve
//! assert_eq!(alice.get_last("context"), Some("office"));
//!
//! let mut doc = Document::parse(text);
//! let id = doc.find_section("alice").unwrap();
//! doc.set(id, "context", "home").unwrap();
//! assert_eq!(doc.as_bytes(), b"[base](!)\ncontext = default\n\n[alice](base)\ncontext = home ; hers\n");
//! ```
//!
//! The [`getconfig`] module renders a reading as AMI's `GetConfig` answer
//! and reads such answers, to compare with a running Asterisk. The
//! [`lint`] module checks a reading against what Asterisk's XML
//! documentation says of the file's options. The `ast config` command
//! shows a file as Asterisk reads it, gets or sets one value, and lints.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod diag;
mod edit;
mod filter;
pub mod fs;
pub mod getconfig;
pub mod glob;
mod lex;
pub mod lint;
mod read;
mod regex;
mod syntax;
pub mod value;

pub use config::{Config, FileId, Origin, Section, Text, Variable};
pub use diag::{Diagnostic, DiagnosticKind, LoadError, LoadErrorKind, Severity};
pub use edit::{EditError, SectionId};
pub use fs::FsResolver;
pub use read::{
    ExecRequest, LoadOptions, Loader, MAX_INCLUDE_LEVEL, MAX_SECTION_NAME, MemoryResolver, Purpose,
    ReadRequest, Request, Resolver, SourceFile, load, load_bytes,
};
pub use syntax::{
    AssignmentLine, DirectiveKind, DirectiveLine, Document, LineEnding, LineKind, LineRef,
    Malformed, Operator, SectionLine,
};
pub use value::ValueError;

/// The longest line Asterisk reads, line ending included: longer lines are
/// skipped.
pub const MAX_LINE: usize = lex::LINE_BUFFER - 1;
