//! The trace file of a recording: JSON Lines, the meta line first, every
//! record written with one `write` the moment it is made, so that the file
//! is valid at every moment. When the recording stops the meta line is
//! replaced by the completed one (a new file renamed over the old).

use serde_json::Value;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// One field of a record: its name and JSON value, in the order written.
pub type Field = (&'static str, Value);

/// A trace being written, shared by every connection of a recording.
pub struct TraceFile {
    start: Instant,
    inner: Mutex<Inner>,
}

struct Inner {
    path: PathBuf,
    /// `None` once finished: later records are dropped.
    file: Option<File>,
    /// The next record's `seq`.
    seq: u64,
    /// The first write that failed.
    error: Option<String>,
}

/// One line: `seq`, `t_ms` and `kind` first, then `fields` in order.
fn line(seq: u64, t_ms: f64, kind: &str, fields: &[Field]) -> String {
    let mut out = format!(
        "{{\"seq\":{seq},\"t_ms\":{t_ms:.3},\"kind\":{}",
        Value::from(kind)
    );
    for (name, value) in fields {
        out.push_str(&format!(",{}:{value}", Value::from(*name)));
    }
    out.push_str("}\n");
    out
}

impl TraceFile {
    /// Creates (or replaces) `path` and writes the meta line.
    pub fn create(path: &Path, meta: &[Field]) -> io::Result<TraceFile> {
        let mut file = File::create(path)?;
        file.write_all(line(0, 0.0, "meta", meta).as_bytes())?;
        Ok(TraceFile {
            start: Instant::now(),
            inner: Mutex::new(Inner {
                path: path.to_path_buf(),
                file: Some(file),
                seq: 1,
                error: None,
            }),
        })
    }

    /// Appends a record of `kind` now.
    pub fn record(&self, kind: &str, fields: &[Field]) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let t_ms = self.start.elapsed().as_secs_f64() * 1000.0;
        let text = line(inner.seq, t_ms, kind, fields);
        let Some(file) = inner.file.as_mut() else {
            return;
        };
        match file.write_all(text.as_bytes()) {
            Ok(()) => inner.seq += 1,
            Err(e) => {
                inner.error.get_or_insert_with(|| e.to_string());
                inner.file = None;
            }
        }
    }

    /// Stops writing and replaces the meta line by `meta`; the number of
    /// records after it. Records made later are dropped.
    pub fn finish(&self, meta: &[Field]) -> Result<u64, String> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.file = None;
        if let Some(e) = &inner.error {
            return Err(format!("{}: {e}", inner.path.display()));
        }
        let path = inner.path.clone();
        let at = |e: io::Error| format!("{}: {e}", path.display());
        let old = std::fs::read_to_string(&path).map_err(at)?;
        let rest = old.split_once('\n').map_or("", |(_, rest)| rest);
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, line(0, 0.0, "meta", meta) + rest).map_err(at)?;
        std::fs::rename(&tmp, &path).map_err(at)?;
        Ok(inner.seq - 1)
    }
}

/// Today's date, `YYYY-MM-DD` (UTC).
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date(secs / 86_400)
}

/// The date `days` after 1970-01-01 (the proleptic Gregorian calendar).
fn civil_date(days: u64) -> String {
    // Howard Hinnant's days_from_civil, inverted.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(20_789), "2026-12-02");
    }

    #[test]
    fn lines_are_written_at_once_and_the_meta_line_completed_at_the_end() {
        let dir = std::env::temp_dir().join(format!("ast-record-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.jsonl");
        let file = TraceFile::create(&path, &[("format", json!(1))]).unwrap();
        file.record("recv", &[("conn", json!("c1")), ("text", json!("a\r\n"))]);
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written.lines().count(), 2);
        let second: Value = serde_json::from_str(written.lines().nth(1).unwrap()).unwrap();
        assert_eq!(second["seq"], 1);
        assert_eq!(second["text"], "a\r\n");
        assert!(
            written
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("{\"seq\":1,\"t_ms\":")
        );
        let n = file
            .finish(&[("format", json!(1)), ("scenario", json!("t"))])
            .unwrap();
        assert_eq!(n, 1);
        file.record("recv", &[("conn", json!("c1"))]);
        let done = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            done.lines().next().unwrap(),
            r#"{"seq":0,"t_ms":0.000,"kind":"meta","format":1,"scenario":"t"}"#
        );
        assert_eq!(done.lines().count(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
