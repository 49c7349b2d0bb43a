//! A configuration as Asterisk holds it after reading: sections in order,
//! each with its variables (inherited ones first), and the queries
//! Asterisk's modules use on it.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use crate::diag::Diagnostic;
use crate::filter::{self, Candidate};
use crate::regex::Regex;
use crate::value::{self, ValueError};

/// Text read from a file: a `&str` view (invalid UTF-8 replaced by U+FFFD)
/// and the exact bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text {
    text: Box<str>,
    raw: Option<Box<[u8]>>,
}

impl Text {
    /// Text from bytes; invalid UTF-8 is kept as bytes and shown as U+FFFD.
    pub fn from_bytes(bytes: &[u8]) -> Text {
        match std::str::from_utf8(bytes) {
            Ok(s) => Text {
                text: s.into(),
                raw: None,
            },
            Err(_) => Text {
                text: String::from_utf8_lossy(bytes).into(),
                raw: Some(bytes.into()),
            },
        }
    }

    /// The text (lossy when the bytes are not UTF-8).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The exact bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.raw {
            Some(r) => r,
            None => self.text.as_bytes(),
        }
    }

    /// Whether the bytes are valid UTF-8 (so `as_str` is exact).
    pub fn is_utf8(&self) -> bool {
        self.raw.is_none()
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text {
            text: s.into(),
            raw: None,
        }
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.raw {
            None => fmt::Debug::fmt(&*self.text, f),
            Some(r) => write!(f, "b\"{}\"", r.escape_ascii()),
        }
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Which file of a [`Config`] something was read from (an index into
/// [`Config::files`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// Where a section header or a variable was read: file and Asterisk's
/// line number in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The file.
    pub file: FileId,
    /// The line (from 1).
    pub line: u32,
}

/// One variable of a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    pub(crate) name: Text,
    pub(crate) value: Text,
    pub(crate) object: bool,
    pub(crate) inherited: bool,
    pub(crate) origin: Origin,
}

impl Variable {
    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The name with its exact bytes.
    pub fn name_text(&self) -> &Text {
        &self.name
    }

    /// The value with its exact bytes.
    pub fn value_text(&self) -> &Text {
        &self.value
    }

    /// Written with `=>` (Asterisk's "object" flag).
    pub fn is_object(&self) -> bool {
        self.object
    }

    /// Copied from a section this one inherits from.
    pub fn is_inherited(&self) -> bool {
        self.inherited
    }

    /// Where the line that set it stands (for an inherited variable, the
    /// line in the parent).
    pub fn origin(&self) -> Origin {
        self.origin
    }
}

/// One section (Asterisk's "category").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub(crate) name: Text,
    pub(crate) template: bool,
    pub(crate) templates: Vec<Text>,
    pub(crate) variables: Vec<Variable>,
    pub(crate) origin: Origin,
}

fn eq_nocase(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

impl Section {
    /// The name (at most 79 bytes: Asterisk cuts longer ones).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name with its exact bytes.
    pub fn name_text(&self) -> &Text {
        &self.name
    }

    /// A template (`(!)`): kept, but skipped by normal lookups.
    pub fn is_template(&self) -> bool {
        self.template
    }

    /// The sections it inherited from, as named in its header, in order
    /// (direct parents only).
    pub fn templates(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.templates.iter().map(|t| t.as_str())
    }

    /// The same, with exact bytes.
    pub fn template_texts(&self) -> &[Text] {
        &self.templates
    }

    /// All variables in Asterisk's order: inherited ones first, repeats
    /// kept.
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// Where the header stands.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The first variable of that name (case-insensitive): what Asterisk's
    /// `ast_variable_retrieve` returns, so an inherited value comes before
    /// the section's own.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.variable(name).map(|v| v.value())
    }

    /// The first variable of that name, whole.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables
            .iter()
            .find(|v| eq_nocase(v.name.as_bytes(), name))
    }

    /// The last variable of that name: what a module that walks all
    /// variables and keeps the last one sees.
    pub fn get_last(&self, name: &str) -> Option<&str> {
        self.variables
            .iter()
            .rev()
            .find(|v| eq_nocase(v.name.as_bytes(), name))
            .map(|v| v.value())
    }

    /// Every value of that name, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.variables
            .iter()
            .filter(move |v| eq_nocase(v.name.as_bytes(), name))
            .map(|v| v.value())
    }

    /// The first value as a boolean with Asterisk's words (`ast_true`:
    /// yes, true, y, t, 1, on; `ast_false`: no, false, n, f, 0, off; any
    /// case). `Ok(None)` when absent.
    pub fn get_bool(&self, name: &str) -> Result<Option<bool>, ValueError> {
        self.typed(name, "a boolean", value::parse_bool)
    }

    /// The first value as a signed 32-bit integer, read as Asterisk's
    /// `ast_parse_arg(PARSE_INT32)` reads it (`strtol` base 0: decimal,
    /// `0x` hex, leading `0` octal; nothing may follow).
    pub fn get_i32(&self, name: &str) -> Result<Option<i32>, ValueError> {
        self.typed(name, "an integer", value::parse_i32)
    }

    /// The first value as an unsigned 32-bit integer
    /// (`ast_parse_arg(PARSE_UINT32)`: no minus sign).
    pub fn get_u32(&self, name: &str) -> Result<Option<u32>, ValueError> {
        self.typed(name, "an unsigned integer", value::parse_u32)
    }

    /// The first value split at `sep`, items stripped, empty items left
    /// out (how modules read `allow = ulaw,alaw`).
    pub fn get_list(&self, name: &str, sep: char) -> Option<Vec<&str>> {
        self.get(name).map(|v| value::split_list(v, sep))
    }

    fn typed<T>(
        &self,
        name: &str,
        expected: &'static str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<Option<T>, ValueError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse(v).map(Some).ok_or_else(|| ValueError {
                name: name.to_string(),
                value: v.to_string(),
                expected,
            }),
        }
    }
}

impl Candidate for Section {
    fn name(&self) -> &[u8] {
        self.name.as_bytes()
    }
    fn is_template(&self) -> bool {
        self.template
    }
    fn has_variable(&self, name: &Regex, value: &Regex) -> bool {
        self.variables
            .iter()
            .any(|v| name.is_match(v.name.as_bytes()) && value.is_match(v.value.as_bytes()))
    }
}

/// A configuration as Asterisk reads it: what [`crate::Loader`] gives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub(crate) sections: Vec<Section>,
    pub(crate) files: Vec<String>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl Config {
    /// Every section in order, templates included.
    pub fn all_sections(&self) -> &[Section] {
        &self.sections
    }

    /// The sections Asterisk's browsing shows (`ast_category_browse`): all
    /// but templates, in order.
    pub fn sections(&self) -> impl Iterator<Item = &Section> + '_ {
        self.sections.iter().filter(|s| !s.template)
    }

    /// The names of [`Config::sections`], repeats kept.
    pub fn section_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.sections().map(|s| s.name())
    }

    /// The first section of that name that is not a template
    /// (case-insensitive, as `ast_category_get`).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections().find(|s| eq_nocase(s.name.as_bytes(), name))
    }

    /// The first template of that name.
    pub fn template(&self, name: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.template && eq_nocase(s.name.as_bytes(), name))
    }

    /// Every section of that name that is not a template, in order.
    pub fn sections_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections()
            .filter(move |s| eq_nocase(s.name.as_bytes(), name))
    }

    /// Sections chosen with Asterisk's filter syntax, as AMI's GetConfig
    /// `Filter` and `ast_category_browse_filtered` choose them: terms
    /// `name=regex` separated by `,`, all of which must match one variable
    /// each; `TEMPLATES=include` to include templates, `TEMPLATES=restrict`
    /// for templates only. `name` (if given) must match too.
    pub fn sections_filtered<'a>(
        &'a self,
        name: Option<&'a str>,
        filter: &'a str,
    ) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| {
            filter::category_matches(
                *s,
                name.map(str::as_bytes),
                Some(filter.as_bytes()),
                b',',
                &mut Vec::new(),
            )
        })
    }

    /// The first value of `variable` in the first non-template section
    /// `section`: Asterisk's `ast_variable_retrieve`.
    pub fn get(&self, section: &str, variable: &str) -> Option<&str> {
        self.section(section).and_then(|s| s.get(variable))
    }

    /// [`Config::get`], falling back to section `general`
    /// (`ast_config_option`).
    pub fn option(&self, section: &str, variable: &str) -> Option<&str> {
        self.get(section, variable)
            .or_else(|| self.get("general", variable))
    }

    /// The paths of the files read, in the order first read; [`FileId`]s
    /// index this list.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// The path of a file.
    pub fn file_path(&self, id: FileId) -> &str {
        self.files.get(id.0 as usize).map_or("", |s| s.as_str())
    }

    /// What Asterisk would have logged while reading (warnings; a load that
    /// succeeded has no fatal error among them).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Whether the configuration has no section at all (templates
    /// included).
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// Renders the configuration in the shape of `GetConfig`'s lines, for
    /// people: `[name](!,a,b)` then `name = value` lines.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for s in &self.sections {
            out.push('[');
            out.push_str(s.name());
            out.push(']');
            let mut opts: Vec<Cow<'_, str>> = Vec::new();
            if s.template {
                opts.push("!".into());
            }
            opts.extend(s.templates().map(Cow::from));
            if !opts.is_empty() {
                out.push('(');
                out.push_str(&opts.join(","));
                out.push(')');
            }
            out.push('\n');
            for v in &s.variables {
                out.push_str(v.name());
                out.push_str(if v.object { " =>" } else { " =" });
                if !v.value().is_empty() {
                    out.push(' ');
                    out.push_str(v.value());
                }
                if v.inherited {
                    out.push_str("  ; inherited");
                }
                out.push('\n');
            }
        }
        out
    }
}
