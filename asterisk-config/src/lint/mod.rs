//! A linter for the configuration files Asterisk describes in its XML
//! documentation (`<configInfo>`: pjsip.conf, ari.conf, features.conf,
//! cdr.conf, cel.conf, confbridge.conf ... 28 files of Asterisk 22).
//!
//! It works on a [`Config`] (Asterisk's reading), so templates, inherited
//! variables and includes are taken into account, and reports with file
//! and line:
//!
//! - **unknown options**: a variable the section's object does not
//!   document;
//! - **bad values**: a value outside the option's documented list (when
//!   the list is one of plain words; each item of a comma list is checked),
//!   or not one of Asterisk's boolean words when the documented default is
//!   one;
//! - **missing options**: a section of a file whose objects are told apart
//!   by `type=` (pjsip.conf, ...) without `type`, and an unknown `type`.
//!
//! Which object a section is: the one its `type=` names (`type=endpoint`,
//! or a prefix: confbridge's `type=user` is `user_profile`); else the one
//! named like the section (`[general]` also finds `global` and `globals`);
//! else, when the file has exactly one other object, that one. Sections
//! that match none are not checked. Templates are not checked themselves;
//! their variables are checked in the sections that inherit them (and
//! reported once, at the template's line).
//!
//! The XML says nothing of which options are required or of value types
//! beyond this, so the linter does not guess further.
//!
//! The same schema gives a typed view of a section ([`Linter::view`]):
//! every documented option with the value that applies (the section's,
//! inherited ones included, or the documented default), read as a
//! boolean, an integer or a list, and checked against the listed values.

mod view;

pub use view::{ObjectView, Setting};

use std::collections::HashSet;
use std::fmt;

use crate::config::{Config, Section};
use crate::regex::Regex;
use crate::value;

const SCHEMA: &str = include_str!("configinfo.txt");

#[derive(Clone, Debug)]
struct OptionSchema {
    name: String,
    default: String,
    values: Vec<String>,
}

#[derive(Clone, Debug)]
struct ObjectSchema {
    name: String,
    options: Vec<OptionSchema>,
}

impl ObjectSchema {
    fn typed(&self) -> bool {
        self.options.iter().any(|o| o.name == "type")
    }

    fn option(&self, name: &str) -> Option<&OptionSchema> {
        self.options.iter().find(|o| {
            // An option without a name stands for any name (pjsip_notify's
            // headers).
            if o.name.is_empty() || o.name.eq_ignore_ascii_case(name) {
                return true;
            }
            if o.name.starts_with('^') {
                return Regex::new(o.name.as_bytes()).is_ok_and(|r| r.is_match(name.as_bytes()));
            }
            o.name.len() > 1
                && o.name.ends_with('_')
                && name.len() > o.name.len()
                && name[..o.name.len()].eq_ignore_ascii_case(&o.name)
        })
    }
}

/// What the XML documents for one configuration file.
#[derive(Clone, Debug)]
pub struct Linter {
    file: String,
    modules: Vec<String>,
    objects: Vec<ObjectSchema>,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file of the offending line.
    pub file: String,
    /// The line (from 1).
    pub line: u32,
    /// The section the problem was found in.
    pub section: String,
    /// What is wrong.
    pub kind: FindingKind,
}

/// What a [`Finding`] is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FindingKind {
    /// An option the section's object does not have.
    UnknownOption {
        /// The option.
        name: String,
        /// The object.
        object: String,
    },
    /// A value the option does not take.
    BadValue {
        /// The option.
        name: String,
        /// The value.
        value: String,
        /// What it takes.
        expected: String,
    },
    /// An option the section needs (`type` where objects are told apart by
    /// it).
    MissingOption {
        /// The option.
        name: String,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: [{}] ", self.file, self.line, self.section)?;
        match &self.kind {
            FindingKind::UnknownOption { name, object } => {
                write!(f, "unknown option '{name}' for a {object}")
            }
            FindingKind::BadValue {
                name,
                value,
                expected,
            } => write!(f, "{name} = {value}: expected {expected}"),
            FindingKind::MissingOption { name } => write!(f, "missing option '{name}'"),
        }
    }
}

fn plain_word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+'))
}

fn general_alias(object: &str) -> bool {
    matches!(object, "general" | "global" | "globals")
}

impl Linter {
    /// The linter for a file name (`pjsip.conf`, ...), if Asterisk's XML
    /// describes that file.
    pub fn for_file(name: &str) -> Option<Linter> {
        let base = name.rsplit('/').next().unwrap_or(name);
        let mut linter: Option<Linter> = None;
        let mut in_file = false;
        for line in SCHEMA.lines() {
            let mut cols = line.split('\t');
            match cols.next() {
                Some("file") => {
                    in_file = cols.next() == Some(base);
                    if in_file {
                        let l = linter.get_or_insert_with(|| Linter {
                            file: base.to_string(),
                            modules: Vec::new(),
                            objects: Vec::new(),
                        });
                        l.modules.push(cols.next().unwrap_or("").to_string());
                    }
                }
                Some("object") if in_file => {
                    if let Some(l) = linter.as_mut() {
                        l.objects.push(ObjectSchema {
                            name: cols.next().unwrap_or("").to_string(),
                            options: Vec::new(),
                        });
                    }
                }
                Some("option") if in_file => {
                    if let Some(o) = linter.as_mut().and_then(|l| l.objects.last_mut()) {
                        let name = cols.next().unwrap_or("").to_string();
                        let default = cols.next().unwrap_or("").to_string();
                        let values = cols
                            .next()
                            .unwrap_or("")
                            .split('|')
                            .filter(|v| !v.is_empty())
                            .map(str::to_string)
                            .collect();
                        o.options.push(OptionSchema {
                            name,
                            default,
                            values,
                        });
                    }
                }
                _ => {}
            }
        }
        linter
    }

    /// The names of the files the XML describes.
    pub fn files() -> Vec<&'static str> {
        let mut out: Vec<&str> = SCHEMA
            .lines()
            .filter_map(|l| l.strip_prefix("file\t"))
            .map(|l| l.split('\t').next().unwrap_or(""))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The file this linter is for.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The modules whose documentation describes the file.
    pub fn modules(&self) -> &[String] {
        &self.modules
    }

    /// The documented objects (section kinds) of the file.
    pub fn objects(&self) -> impl Iterator<Item = &str> + '_ {
        self.objects.iter().map(|o| o.name.as_str())
    }

    /// The documented object a section is (`None` when the linter cannot
    /// tell, or the `type` is unknown or missing).
    pub fn object_of(&self, section: &Section) -> Option<&str> {
        match self.object_for(section) {
            Ok(Some(o)) => Some(&o.name),
            _ => None,
        }
    }

    fn typed_file(&self) -> bool {
        self.objects.iter().any(ObjectSchema::typed)
    }

    /// The object a section is, as described in the module documentation.
    fn object_for(&self, s: &Section) -> Result<Option<&ObjectSchema>, FindingKind> {
        if let Some(t) = s.get("type") {
            let found = self.objects.iter().find(|o| {
                o.typed()
                    && (o.name.eq_ignore_ascii_case(t)
                        || (o.name.len() > t.len()
                            && o.name[..t.len()].eq_ignore_ascii_case(t)
                            && matches!(o.name.as_bytes()[t.len()], b'_' | b'-')))
            });
            if let Some(o) = found {
                return Ok(Some(o));
            }
            if self.typed_file() {
                let mut known: Vec<&str> = self
                    .objects
                    .iter()
                    .filter(|o| o.typed())
                    .map(|o| o.name.as_str())
                    .collect();
                known.dedup();
                return Err(FindingKind::BadValue {
                    name: "type".into(),
                    value: t.into(),
                    expected: format!("one of {}", known.join(", ")),
                });
            }
        }
        let name = s.name();
        if let Some(o) = self.objects.iter().find(|o| {
            o.name.eq_ignore_ascii_case(name)
                || (name.eq_ignore_ascii_case("general") && general_alias(&o.name))
        }) {
            return Ok(Some(o));
        }
        let others: Vec<&ObjectSchema> = self
            .objects
            .iter()
            .filter(|o| !o.typed() && !general_alias(&o.name))
            .collect();
        if others.len() == 1 && !self.objects.iter().any(|o| o.typed()) {
            return Ok(Some(others[0]));
        }
        if self.typed_file() {
            return Err(FindingKind::MissingOption {
                name: "type".into(),
            });
        }
        Ok(None)
    }

    fn check_value(&self, option: &OptionSchema, value: &str) -> Option<String> {
        if value.is_empty() || option.name.is_empty() {
            return None;
        }
        if !option.values.is_empty() && option.values.iter().all(|v| plain_word(v)) {
            let ok = value::split_list(value, ',')
                .iter()
                .all(|item| option.values.iter().any(|v| v.eq_ignore_ascii_case(item)));
            return (!ok).then(|| format!("one of {}", option.values.join(", ")));
        }
        let boolean_default = ["yes", "no", "true", "false", "on", "off"]
            .iter()
            .any(|w| option.default.eq_ignore_ascii_case(w));
        if boolean_default && option.values.is_empty() && value::parse_bool(value).is_none() {
            return Some("yes or no (or another of Asterisk's boolean words)".into());
        }
        None
    }

    /// Checks a configuration read from this file.
    pub fn check(&self, config: &Config) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for s in config.sections() {
            let object = match self.object_for(s) {
                Ok(Some(o)) => o,
                Ok(None) => continue,
                Err(kind) => {
                    let line = match &kind {
                        FindingKind::BadValue { .. } => s.variable("type").map(|v| v.origin()),
                        _ => None,
                    }
                    .unwrap_or(s.origin());
                    out.push(Finding {
                        file: config.file_path(line.file).to_string(),
                        line: line.line,
                        section: s.name().to_string(),
                        kind,
                    });
                    continue;
                }
            };
            if object.options.is_empty() {
                continue;
            }
            for v in s.variables() {
                let origin = v.origin();
                let kind = match object.option(v.name()) {
                    _ if v.name().starts_with('@') => continue,
                    None => FindingKind::UnknownOption {
                        name: v.name().to_string(),
                        object: object.name.clone(),
                    },
                    Some(o) => match self.check_value(o, v.value()) {
                        None => continue,
                        Some(expected) => FindingKind::BadValue {
                            name: v.name().to_string(),
                            value: v.value().to_string(),
                            expected,
                        },
                    },
                };
                // An inherited line is reported once, where it stands.
                if !seen.insert((origin, kind.clone())) {
                    continue;
                }
                out.push(Finding {
                    file: config.file_path(origin.file).to_string(),
                    line: origin.line,
                    section: s.name().to_string(),
                    kind,
                });
            }
        }
        out.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        out
    }
}

/// Lints `config`, read from a file named `name`; empty when the XML does
/// not describe that file.
pub fn lint(name: &str, config: &Config) -> Vec<Finding> {
    Linter::for_file(name).map_or_else(Vec::new, |l| l.check(config))
}
