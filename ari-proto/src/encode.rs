//! URL and body encoding shared by the generated operations.

use serde_json::{Map, Value, json};

/// Characters kept as they are in a path segment: RFC 3986 unreserved.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_encoded(out: &mut String, value: &str, keep: fn(u8) -> bool) {
    for &b in value.as_bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// Appends `value` as one path segment, as Asterisk's ARI reads it: it
/// splits the path at `/` first and then percent-decodes each segment, with
/// `+` read as a space (res_ari.c, `ast_uri_http_legacy`). So `/`, `%`, `?`,
/// `#`, spaces, `+` and non-ASCII bytes are escaped and any id round-trips,
/// while the characters RFC 3986 allows in a segment (`:` `@` and the
/// sub-delimiters other than `+`) go as they are: `Stasis:dev1`, not
/// `Stasis%3Adev1`.
pub fn push_segment(out: &mut String, value: &str) {
    push_encoded(out, value, |b| {
        is_unreserved(b)
            || matches!(
                b,
                b':' | b'@' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b',' | b';' | b'='
            )
    });
}

/// Appends `value` percent-encoded for a query string (name or value).
pub fn push_query_component(out: &mut String, value: &str) {
    // `:` `@` `/` `,` are legal in a query and keep URIs such as
    // `sound:hello-world` or `PJSIP/100@loop` readable.
    push_encoded(out, value, |b| {
        is_unreserved(b) || matches!(b, b':' | b'@' | b'/' | b',')
    });
}

/// Decodes `%XX` escapes; `None` if an escape is malformed or the bytes are not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `{"<key>": value}`, the shape of ARI's `variables` bodies.
pub fn keyed_body(key: &str, value: &Map<String, Value>) -> Value {
    let mut m = Map::with_capacity(1);
    m.insert(key.to_string(), Value::Object(value.clone()));
    Value::Object(m)
}

/// `{"fields": [{"attribute": .., "value": ..}]}`, for dynamic configuration.
pub fn config_fields_body(fields: &[(String, String)]) -> Value {
    let list: Vec<Value> = fields
        .iter()
        .map(|(a, v)| json!({"attribute": a, "value": v}))
        .collect();
    json!({ "fields": list })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_escape_reserved_bytes() {
        let mut s = String::new();
        push_segment(&mut s, "a b/c?d%e#f");
        assert_eq!(s, "a%20b%2Fc%3Fd%25e%23f");
        assert_eq!(percent_decode(&s).as_deref(), Some("a b/c?d%e#f"));
        let mut s = String::new();
        push_segment(&mut s, "1795361410.9");
        assert_eq!(s, "1795361410.9");
    }

    #[test]
    fn segments_keep_what_a_segment_allows_but_plus() {
        let mut s = String::new();
        push_segment(&mut s, "Stasis:dev1");
        assert_eq!(s, "Stasis:dev1");
        let mut s = String::new();
        push_segment(&mut s, "a@b!$&'()*,;=c");
        assert_eq!(s, "a@b!$&'()*,;=c");
        // Asterisk reads a raw `+` as a space.
        let mut s = String::new();
        push_segment(&mut s, "1+1");
        assert_eq!(s, "1%2B1");
    }

    #[test]
    fn unicode_round_trips() {
        let mut s = String::new();
        push_segment(&mut s, "café/☎");
        assert_eq!(percent_decode(&s).as_deref(), Some("café/☎"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }
}
