//! Colours, only on a terminal: plain ANSI codes, none when the output is
//! piped or `NO_COLOR` is set.

use std::io::IsTerminal;

/// Bold.
pub const BOLD: &str = "1";
/// Faint.
pub const DIM: &str = "2";
/// Red.
pub const RED: &str = "31";
/// Green.
pub const GREEN: &str = "32";
/// Yellow.
pub const YELLOW: &str = "33";
/// Blue.
pub const BLUE: &str = "34";
/// Magenta.
pub const MAGENTA: &str = "35";
/// Cyan.
pub const CYAN: &str = "36";

/// Whether to colour what goes to standard output.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    on: bool,
}

impl Style {
    /// Colours when standard output is a terminal and `NO_COLOR` is unset.
    pub fn for_stdout() -> Style {
        let wanted = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        Style {
            on: wanted && std::io::stdout().is_terminal(),
        }
    }

    /// No colours.
    #[cfg(test)]
    pub fn plain() -> Style {
        Style { on: false }
    }

    /// `text` in colour `code` (a `style::` constant), or as it is.
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.on && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// The colour of an event's name, by what it is about.
pub fn event_colour(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.contains("hangup") || lower.contains("destroy") || lower.contains("fail") {
        RED
    } else if lower.starts_with("stasis") || lower.starts_with("newchannel") {
        GREEN
    } else if lower.starts_with("bridge") {
        MAGENTA
    } else if lower.starts_with("playback") || lower.starts_with("recording") {
        YELLOW
    } else if lower.starts_with("dial") || lower.contains("dtmf") {
        BLUE
    } else {
        CYAN
    }
}
