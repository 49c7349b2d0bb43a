//! What Asterisk logs while reading a file, and the errors that make it
//! reject the whole file.

use std::fmt;

/// How loud Asterisk logs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// `WARNING`.
    Warning,
    /// `ERROR`.
    Error,
}

impl Severity {
    /// Asterisk's name for the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
        }
    }
}

/// One thing Asterisk logs while reading (or, for the few marked so, a
/// trap this library points out where Asterisk says nothing useful).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The log level Asterisk uses for it.
    pub severity: Severity,
    /// What happened.
    pub kind: DiagnosticKind,
    /// The file being read (its path as the resolver gave it).
    pub file: String,
    /// The line in that file (from 1), or 0 when there is none.
    pub line: u32,
}

/// What a [`Diagnostic`] is about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// A line longer than Asterisk's 8,192-byte buffer, skipped; with its
    /// first 32 bytes.
    LineTooLong {
        /// The line's first bytes, as Asterisk prints them.
        begins_with: Vec<u8>,
    },
    /// A line with text but no `=`, skipped.
    NoEquals,
    /// `= value` without a name, skipped.
    NoName,
    /// `#word` that is not a directive Asterisk knows, skipped.
    UnknownDirective {
        /// The word after `#`.
        name: Vec<u8>,
    },
    /// A directive without its argument, skipped.
    MissingArgument {
        /// The directive as written.
        name: Vec<u8>,
        /// `#exec` (needs a program) rather than an include (a file).
        exec: bool,
    },
    /// `#exec` while exec includes are off, skipped.
    ExecDisabled,
    /// The same name included again (read again all the same).
    IncludedTwice {
        /// The including file, empty for the main file (as Asterisk says).
        from: String,
        /// The name Asterisk would save the copy under.
        saved_as: Vec<u8>,
    },
    /// Includes nested more than 10 deep; the include is treated as a
    /// missing file.
    IncludeTooDeep,
    /// A `;--` block comment still open at the end of a file.
    UnterminatedComment {
        /// The line that opened the innermost open block.
        opened_at: u32,
    },
    /// A `--;` with no block open: Asterisk's block counter goes below
    /// zero, this line is kept whole and the following lines are ignored
    /// as if inside a block until as many `;--` have been seen. (Asterisk
    /// logs nothing; this library warns.)
    StrayCommentClose,
    /// A `(+filter)` term whose regular expression does not compile.
    BadRegex {
        /// The expression.
        pattern: Vec<u8>,
        /// Why.
        reason: String,
    },
    /// A fatal error (also returned as [`LoadError`]): the file (or, in an
    /// included file, the rest of that file) is not read.
    Fatal(LoadErrorKind),
}

impl Diagnostic {
    fn file_for_message(&self) -> &str {
        &self.file
    }
}

fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

impl fmt::Display for Diagnostic {
    /// The message in Asterisk's words, as its log shows it (without the
    /// level and source prefix).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file_for_message();
        let line = self.line;
        match &self.kind {
            DiagnosticKind::LineTooLong { begins_with } => write!(
                f,
                "Line {line} too long, skipping. It begins with: {}...",
                lossy(begins_with)
            ),
            DiagnosticKind::NoEquals => {
                write!(f, "No '=' (equal sign) in line {line} of {file}")
            }
            DiagnosticKind::NoName => write!(f, "No variable name in line {line} of {file}"),
            DiagnosticKind::UnknownDirective { name } => write!(
                f,
                "Unknown directive '#{}' at line {line} of {file}",
                lossy(name)
            ),
            DiagnosticKind::MissingArgument { name, exec } => write!(
                f,
                "Directive '#{}' needs an argument ({}) at line {line} of {file}",
                lossy(name),
                if *exec {
                    "/path/to/executable"
                } else {
                    "filename"
                }
            ),
            DiagnosticKind::ExecDisabled => f.write_str(
                "Cannot perform #exec unless execincludes option is enabled in asterisk.conf (options section)!",
            ),
            DiagnosticKind::IncludedTwice { from, saved_as } => write!(
                f,
                "'{from}', line {line}:  Same File included more than once! This data will be saved in {} if saved back to disk.",
                lossy(saved_as)
            ),
            DiagnosticKind::IncludeTooDeep => f.write_str("Maximum Include level (10) exceeded"),
            DiagnosticKind::UnterminatedComment { opened_at } => write!(
                f,
                "Unterminated comment detected beginning on line {opened_at}"
            ),
            DiagnosticKind::StrayCommentClose => write!(
                f,
                "'--;' with no block comment open at line {line} of {file}: Asterisk ignores the lines after it"
            ),
            DiagnosticKind::BadRegex { pattern, reason } => write!(
                f,
                "Regular expression '{}' failed to compile: {reason}",
                lossy(pattern)
            ),
            DiagnosticKind::Fatal(kind) => kind.message(f, file, line),
        }
    }
}

/// Why Asterisk rejects a file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// No file matched the main file's name ("Config file not found").
    NotFound {
        /// The name asked for.
        name: String,
    },
    /// `[` without `]`.
    NoClosingBracket,
    /// `[name](` without `)`.
    NoClosingParen,
    /// `[name](base)` where no earlier section is called `base`.
    UnknownBase {
        /// The name.
        name: Vec<u8>,
    },
    /// `[name](+)` where no earlier section (that the filter accepts) is
    /// called `name`.
    NoSectionToAddTo {
        /// The name.
        name: Vec<u8>,
    },
    /// A variable before any section.
    NoSection,
    /// A leading `\` before a blank, a control or a non-ASCII byte.
    InvalidEscape,
    /// `#include` of a name that matched no file (or nested too deep).
    IncludeMissing {
        /// The name as written (dequoted).
        name: Vec<u8>,
    },
    /// The `#exec` runner failed.
    ExecFailed {
        /// The command.
        command: Vec<u8>,
        /// What the runner said.
        reason: String,
    },
    /// More than 128 nested `;--`: Asterisk loops for ever on this line.
    CommentNestLimit,
    /// `[name](+,name)`: a section inheriting from itself makes Asterisk
    /// copy variables for ever.
    SelfInheritance {
        /// The name.
        name: Vec<u8>,
    },
}

impl LoadErrorKind {
    /// The level Asterisk logs it at.
    pub fn severity(&self) -> Severity {
        match self {
            LoadErrorKind::InvalidEscape
            | LoadErrorKind::IncludeMissing { .. }
            | LoadErrorKind::ExecFailed { .. }
            | LoadErrorKind::CommentNestLimit => Severity::Error,
            _ => Severity::Warning,
        }
    }

    fn message(&self, f: &mut fmt::Formatter<'_>, file: &str, line: u32) -> fmt::Result {
        match self {
            LoadErrorKind::NotFound { name } => write!(f, "Config file not found: {name}"),
            LoadErrorKind::NoClosingBracket => {
                write!(f, "parse error: no closing ']', line {line} of {file}")
            }
            LoadErrorKind::NoClosingParen => {
                write!(f, "parse error: no closing ')', line {line} of {file}")
            }
            LoadErrorKind::UnknownBase { name } => write!(
                f,
                "Inheritance requested, but category '{}' does not exist, line {line} of {file}",
                lossy(name)
            ),
            LoadErrorKind::NoSectionToAddTo { name } => write!(
                f,
                "Category addition requested, but category '{}' does not exist, line {line} of {file}",
                lossy(name)
            ),
            LoadErrorKind::NoSection => write!(
                f,
                "parse error: No category context for line {line} of {file}"
            ),
            LoadErrorKind::InvalidEscape => write!(f, "Invalid escape in line {line} of {file}"),
            LoadErrorKind::IncludeMissing { name } => write!(
                f,
                "The file '{}' was listed as a #include but it does not exist.",
                lossy(name)
            ),
            LoadErrorKind::ExecFailed { command, reason } => {
                write!(f, "#exec <{}>: {reason}", lossy(command))
            }
            LoadErrorKind::CommentNestLimit => {
                write!(f, "Maximum nest limit of 128 reached.")
            }
            LoadErrorKind::SelfInheritance { name } => write!(
                f,
                "category '{}' inherits from itself at line {line} of {file}: Asterisk would copy its variables for ever",
                lossy(name)
            ),
        }
    }
}

/// Asterisk rejects the file: `GetConfig` answers "Config file has invalid
/// format" (or "Config file not found").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// Why.
    pub kind: LoadErrorKind,
    /// The file where it happened (for an error in an included file that
    /// reached the main file, the main file's `#include` line).
    pub file: String,
    /// The line (from 1; 0 for a file that was not found).
    pub line: u32,
    /// Everything logged up to and including the error.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    /// Whether Asterisk would answer "Config file not found" rather than
    /// "Config file has invalid format".
    pub fn is_not_found(&self) -> bool {
        matches!(self.kind, LoadErrorKind::NotFound { .. })
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.message(f, &self.file, self.line)
    }
}

impl std::error::Error for LoadError {}
