//! What the generated events and actions share.

use crate::{Kind, Message, Text};

/// `From<Text>`, `From<String>` and `Display` for a generated open enum
/// (which already has `as_str` and `From<&str>`).
macro_rules! text_enum {
    ($name:ident) => {
        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self::from(text.as_str())
            }
        }

        impl From<$crate::Text<'_>> for $name {
            fn from(text: $crate::Text<'_>) -> Self {
                Self::from(&*text.to_string_lossy())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

/// The message's `Event:` value in ASCII lower case, copied into `buf`;
/// `None` if it is no event or its name is longer than any known one.
pub(crate) fn lower_event_name<'b, const N: usize>(
    message: &Message,
    buf: &'b mut [u8; N],
) -> Option<&'b [u8]> {
    let Kind::Event(name) = message.kind() else {
        return None;
    };
    let name = name.as_bytes();
    let out = buf.get_mut(..name.len())?;
    out.copy_from_slice(name);
    out.make_ascii_lowercase();
    Some(out)
}

/// The `Event:` value of a message, empty if it has none or it is not UTF-8.
pub(crate) fn event_name(message: &Message) -> &str {
    match message.kind() {
        Kind::Event(name) => name.to_str().unwrap_or_default(),
        _ => "",
    }
}

/// The value of the first header `<prefix><n><suffix>` (ASCII case
/// ignored, `n` in decimal), without allocating.
pub(crate) fn numbered<'a>(
    message: &'a Message,
    prefix: &str,
    n: usize,
    suffix: &str,
) -> Option<Text<'a>> {
    message
        .fields()
        .find(|(name, _)| {
            let name = name.as_bytes();
            let Some(rest) = strip_prefix_ignore_case(name, prefix.as_bytes()) else {
                return false;
            };
            let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
            let (number, rest) = rest.split_at(digits);
            digits > 0
                && (digits == 1 || number[0] != b'0')
                && parse_decimal(number) == Some(n)
                && rest.eq_ignore_ascii_case(suffix.as_bytes())
        })
        .map(|(_, value)| value)
}

fn strip_prefix_ignore_case<'a>(bytes: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = bytes.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &bytes[prefix.len()..])
}

fn parse_decimal(digits: &[u8]) -> Option<usize> {
    digits.iter().try_fold(0usize, |acc, &d| {
        acc.checked_mul(10)?.checked_add(usize::from(d - b'0'))
    })
}
