//! Any bytes as an Asterisk configuration file: parsing never panics and
//! writing back gives the same bytes; every line's classification can be
//! read; Asterisk's reading of it never panics; an edit changes only its
//! own lines.
#![no_main]

use asterisk_config::{
    Document, LineKind, Loader, Purpose, ReadRequest, Resolver, SectionId, SourceFile,
};
use libfuzzer_sys::fuzz_target;

/// Serves the main file only: includes find nothing (a file including
/// itself many times would make Asterisk, and so the loader, read it an
/// exponential number of times).
struct MainOnly<'a>(&'a [u8]);

impl Resolver for MainOnly<'_> {
    fn read(&mut self, request: &ReadRequest) -> Vec<SourceFile> {
        match request.purpose {
            Purpose::Main => vec![SourceFile::new("fuzz.conf", self.0)],
            _ => Vec::new(),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let doc = Document::parse(data);
    assert_eq!(doc.as_bytes(), data);
    let mut joined = Vec::with_capacity(data.len());
    for line in doc.lines() {
        joined.extend_from_slice(line.raw());
        let _ = line.text();
        if let LineKind::Section(s) = line.kind() {
            let _ = (s.is_template(), s.inherits());
        }
    }
    assert_eq!(joined, data);

    let _ = Loader::new("fuzz.conf").run(&mut MainOnly(data));

    // Appending to the first section adds one line and keeps every other
    // line, in order (the last one may gain a line ending).
    let mut edited = doc.clone();
    if edited
        .append(SectionId(0), "fuzz_key", "fuzz;value")
        .is_ok()
    {
        let old: Vec<&[u8]> = doc.lines().map(|l| l.raw()).collect();
        let new: Vec<&[u8]> = edited.lines().map(|l| l.raw()).collect();
        assert_eq!(new.len(), old.len() + 1);
        let same = |a: &[u8], b: &[u8], last: bool| {
            a == b || (last && a.starts_with(b) && matches!(&a[b.len()..], b"\n" | b"\r\n"))
        };
        let found = (0..new.len()).any(|k| {
            new[k].starts_with(b"fuzz_key = fuzz\\;value")
                && (0..old.len()).all(|i| {
                    let n = if i < k { new[i] } else { new[i + 1] };
                    same(n, old[i], i + 1 == old.len())
                })
        });
        assert!(found, "the edit changed other lines");
    }
});
