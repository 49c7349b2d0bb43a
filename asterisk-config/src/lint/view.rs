//! A typed view of a section, from what Asterisk's XML documents for its
//! object: every option with the value that applies (the section's own,
//! inherited ones included, or the documented default) and typed readings
//! of it.

use super::{Linter, ObjectSchema, OptionSchema};
use crate::config::Section;
use crate::value;

/// A section seen as the documented object it is (`endpoint`, `aor`,
/// `transport` ... in pjsip.conf): see [`Linter::view`].
#[derive(Clone, Copy, Debug)]
pub struct ObjectView<'a> {
    object: &'a ObjectSchema,
    section: &'a Section,
}

/// One documented option of an [`ObjectView`].
#[derive(Clone, Copy, Debug)]
pub struct Setting<'a> {
    schema: &'a OptionSchema,
    value: Option<&'a str>,
}

impl Linter {
    /// `section` as the documented object it is, or `None` when the linter
    /// cannot tell which object it is (see [`Linter::object_of`]).
    pub fn view<'a>(&'a self, section: &'a Section) -> Option<ObjectView<'a>> {
        match self.object_for(section) {
            Ok(Some(object)) => Some(ObjectView { object, section }),
            _ => None,
        }
    }
}

impl<'a> ObjectView<'a> {
    /// The object's name in the XML (`endpoint`, `global`, ...).
    pub fn object(&self) -> &'a str {
        &self.object.name
    }

    /// The section.
    pub fn section(&self) -> &'a Section {
        self.section
    }

    /// The option called `name` (ASCII case ignored), `None` when the
    /// object does not document it.
    pub fn get(&self, name: &str) -> Option<Setting<'a>> {
        let schema = self.object.option(name)?;
        Some(Setting {
            schema,
            value: self.section.get(name),
        })
    }

    /// Every option the object documents by name, in the XML's order, with
    /// the value that applies to this section.
    pub fn settings(&self) -> impl Iterator<Item = Setting<'a>> + 'a {
        let section = self.section;
        self.object
            .options
            .iter()
            .filter(|o| !o.name.is_empty() && !o.name.starts_with('^'))
            .map(move |schema| Setting {
                schema,
                value: section.get(&schema.name),
            })
    }
}

impl<'a> Setting<'a> {
    /// The option's name as documented.
    pub fn name(&self) -> &'a str {
        &self.schema.name
    }

    /// The section's own value (the first, as `ast_variable_retrieve`
    /// reads it), if it sets the option.
    pub fn value(&self) -> Option<&'a str> {
        self.value
    }

    /// The documented default (empty when the XML gives none).
    pub fn default(&self) -> &'a str {
        &self.schema.default
    }

    /// The documented values, when the XML lists them.
    pub fn allowed(&self) -> &'a [String] {
        &self.schema.values
    }

    /// What applies: the section's value, else the default.
    pub fn effective(&self) -> &'a str {
        self.value.unwrap_or(&self.schema.default)
    }

    /// Whether the section leaves the option at its default.
    pub fn is_default(&self) -> bool {
        self.value.is_none()
    }

    /// The value as a boolean, with Asterisk's words (`yes`, `on`, `1` ...):
    /// `None` when it is neither a true nor a false word.
    pub fn as_bool(&self) -> Option<bool> {
        value::parse_bool(self.effective())
    }

    /// The value as an integer, as `ast_parse_arg` reads one.
    pub fn as_i32(&self) -> Option<i32> {
        value::parse_i32(self.effective())
    }

    /// The value's comma-separated items.
    pub fn as_list(&self) -> Vec<&'a str> {
        value::split_list(self.effective(), ',')
    }

    /// Whether the value is one of the documented values (each item of a
    /// list); `None` when the XML lists none.
    pub fn is_allowed(&self) -> Option<bool> {
        if self.schema.values.is_empty() {
            return None;
        }
        let allowed = |v: &str| self.schema.values.iter().any(|a| a.eq_ignore_ascii_case(v));
        Some(self.as_list().iter().all(|v| allowed(v)))
    }
}
