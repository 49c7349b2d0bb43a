//! Asterisk release numbers and what arrived in which release.

use std::fmt;

/// An Asterisk release number, e.g. `22.10.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major release line, e.g. 22.
    pub major: u16,
    /// Minor release.
    pub minor: u16,
    /// Patch release.
    pub patch: u16,
}

impl Version {
    /// `major.minor.patch`.
    pub const fn new(major: u16, minor: u16, patch: u16) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Parses the leading `N.N.N` of a version string such as `22.10.1` or
    /// `20.5.0-rc1`; `None` for builds without one (e.g. `GIT-master-abc`).
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.trim().splitn(3, '.');
        let num = |p: Option<&str>| -> Option<u16> {
            let p = p?;
            let end = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
            p[..end].parse().ok()
        };
        let major = num(parts.next())?;
        let minor = num(parts.next()).unwrap_or(0);
        let patch = num(parts.next()).unwrap_or(0);
        Some(Version {
            major,
            minor,
            patch,
        })
    }

    /// Whether a feature that arrived in `since` (the first release of each
    /// release line that got it) exists in this release.
    ///
    /// A release line listed in `since` has it from that release on; a line
    /// newer than every listed one has it; any other line never got it.
    pub fn has(self, since: &[Version]) -> bool {
        if let Some(first) = since.iter().find(|v| v.major == self.major) {
            return self >= *first;
        }
        since.iter().all(|v| v.major < self.major)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_by_release_line() {
        let claim = [
            Version::new(20, 17, 0),
            Version::new(22, 7, 0),
            Version::new(23, 1, 0),
        ];
        assert!(Version::new(22, 10, 1).has(&claim));
        assert!(!Version::new(22, 6, 0).has(&claim));
        assert!(!Version::new(21, 12, 0).has(&claim), "21 never got it");
        assert!(Version::new(24, 0, 0).has(&claim));
        assert!(!Version::new(18, 30, 0).has(&claim));
        assert!(Version::new(18, 0, 0).has(&[Version::new(12, 0, 0)]));
        assert_eq!(Version::parse("20.5.0-rc1"), Some(Version::new(20, 5, 0)));
        assert_eq!(Version::parse("GIT-master-abc"), None);
    }
}
