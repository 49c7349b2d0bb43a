//! The round trip of every file of the corpus (`tests/data`). Its reading
//! against Asterisk 22.10.1's own (the GetConfig answers and logs beside
//! it) is checked by `conformance::config_check`, file by file.

use std::path::{Path, PathBuf};

use asterisk_config::Document;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["samples", "cases"] {
        for e in std::fs::read_dir(data().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "conf" || x == "inc") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn round_trip_every_file() {
    let files = corpus();
    assert!(files.len() >= 118, "{} files", files.len());
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let doc = Document::parse(bytes.clone());
        assert_eq!(doc.as_bytes(), &bytes[..], "{}", f.display());
        let joined: Vec<u8> = doc.lines().flat_map(|l| l.raw().to_vec()).collect();
        assert_eq!(joined, bytes, "{}", f.display());
    }
}
