//! Turning spec names into Rust identifiers.

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
    "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self",
    "static", "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe", "unsized",
    "use", "virtual", "where", "while", "yield",
];

/// `channelId` → `channel_id`, `absorbDTMF` → `absorb_dtmf`.
pub fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = if i > 0 { Some(chars[i - 1]) } else { None };
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out
}

/// A field or function name, escaped if it is a keyword.
pub fn field(name: &str) -> String {
    let s = snake(name);
    if KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// `send_dtmf` or `sendDTMF` → `SendDtmf`.
pub fn pascal(name: &str) -> String {
    snake(name)
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// An enum variant for an allowed value: `Dialing Offhook` → `DialingOffhook`,
/// `NOT_INUSE` → `NotInuse`, `*` → `Star`.
pub fn variant(value: &str) -> String {
    match value {
        "*" => return "Star".to_string(),
        "#" => return "Hash".to_string(),
        _ => {}
    }
    if let Some(n) = value.strip_prefix('-')
        && !n.is_empty()
        && n.bytes().all(|c| c.is_ascii_digit())
    {
        return format!("Minus{n}");
    }
    let words: String = value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = if w.chars().all(|c| !c.is_ascii_lowercase()) {
                w.to_ascii_lowercase()
            } else {
                w.to_string()
            };
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect();
    if words.is_empty() || words.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{words}")
    } else if words == "Other" {
        "OtherValue".to_string()
    } else {
        words
    }
}

/// A string literal for generated code.
pub fn lit(s: &str) -> String {
    format!("{s:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(snake("channelId"), "channel_id");
        assert_eq!(snake("absorbDTMF"), "absorb_dtmf");
        assert_eq!(snake("ChannelDtmfReceived"), "channel_dtmf_received");
        assert_eq!(snake("RTPstat"), "rt_pstat");
        assert_eq!(snake("report_events"), "report_events");
        assert_eq!(field("type"), "r#type");
        assert_eq!(pascal("sendDTMF"), "SendDtmf");
        assert_eq!(pascal("transfer_progress"), "TransferProgress");
        assert_eq!(variant("Dialing Offhook"), "DialingOffhook");
        assert_eq!(variant("Pre-ring"), "PreRing");
        assert_eq!(variant("NOT_INUSE"), "NotInuse");
        assert_eq!(variant("OffHook"), "OffHook");
        assert_eq!(variant("#"), "Hash");
        assert_eq!(variant("-2"), "Minus2");
        assert_eq!(variant("2"), "V2");
    }
}
