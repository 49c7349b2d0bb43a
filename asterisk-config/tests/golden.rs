//! Asterisk's own reading of every file of the corpus (AMI GetConfig
//! answers from Asterisk 22.10.1, in `tests/data`) against ours, byte for
//! byte, and the round trip of every file.

use std::path::{Path, PathBuf};

use asterisk_config::getconfig::GetConfigAnswer;
use asterisk_config::{Document, FsResolver, Loader};

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

fn answer_file(conf: &Path, suffix: &str) -> Option<PathBuf> {
    let stem = conf.file_stem()?.to_str()?;
    let beside = conf.with_file_name(format!("{stem}.{suffix}"));
    if beside.exists() {
        return Some(beside);
    }
    let golden = conf
        .parent()?
        .parent()?
        .join("golden")
        .join(format!("{stem}.{suffix}"));
    golden.exists().then_some(golden)
}

fn action_id(answer: &[u8]) -> Option<String> {
    String::from_utf8_lossy(answer).lines().find_map(|l| {
        l.strip_prefix("ActionID: ")
            .map(|s| s.trim_end().to_string())
    })
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

#[test]
fn reading_equals_asterisk() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for f in corpus()
        .into_iter()
        .filter(|f| f.extension().is_some_and(|x| x == "conf"))
    {
        let dir = f.parent().unwrap();
        let name = f.file_name().unwrap().to_str().unwrap();
        let result = Loader::new(name).run(&mut FsResolver::new(dir));
        let plain = answer_file(&f, "getconfig.txt").expect("an answer for every file");
        let plain = std::fs::read(plain).unwrap();
        let templates =
            answer_file(&f, "getconfig-templates.txt").map(|p| std::fs::read(p).unwrap());
        for (expected, with_templates) in [(Some(plain), false), (templates, true)] {
            let Some(expected) = expected else { continue };
            let ours = GetConfigAnswer::of(&result, with_templates);
            let bytes = ours.to_bytes(action_id(&expected).as_deref());
            // The recorded answers have invalid UTF-8 (minivm.conf's
            // Latin-1) replaced by U+FFFD: the recording decoded them so.
            // Asterisk itself sends the bytes as they are.
            if bytes != expected && String::from_utf8_lossy(&bytes).as_bytes() != expected {
                let theirs = GetConfigAnswer::parse(&expected).unwrap();
                failures.push(format!(
                    "{} (templates {with_templates}): {}",
                    f.display(),
                    ours.difference(&theirs)
                        .unwrap_or_else(|| "bytes differ".into())
                ));
            }
            checked += 1;
        }
        // Without a templates answer, Asterisk's listing with templates is
        // the plain one: no templates.
        if answer_file(&f, "getconfig-templates.txt").is_none()
            && let Ok(cfg) = &result
            && cfg.all_sections().iter().any(|s| s.is_template())
        {
            failures.push(format!("{}: templates Asterisk did not list", f.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked}:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 122);
}

/// What Asterisk logged while reading each file (`NAME.log.txt`, absent
/// when it logged nothing) against our diagnostics, read as Asterisk read
/// them: the file copied as `<astetcdir>/golden-NAME.conf`, the cases'
/// `*.inc` files beside it under their own names.
#[test]
fn diagnostics_equal_asterisk_log() {
    use asterisk_config::MemoryResolver;
    let mut failures = Vec::new();
    let mut logs = 0;
    for f in corpus()
        .into_iter()
        .filter(|f| f.extension().is_some_and(|x| x == "conf"))
    {
        let stem = f.file_stem().unwrap().to_str().unwrap();
        let name = format!("golden-{stem}.conf");
        let mut files = MemoryResolver::new("<astetcdir>").with(&name, std::fs::read(&f).unwrap());
        for e in std::fs::read_dir(f.parent().unwrap()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "inc") {
                files.insert(
                    p.file_name().unwrap().to_str().unwrap(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
        let diagnostics = match Loader::new(&name).run(&mut files) {
            Ok(cfg) => cfg.diagnostics().to_vec(),
            Err(e) => e.diagnostics,
        };
        let ours: Vec<String> = diagnostics
            .iter()
            .map(|d| format!("{} config.c: {d}", d.severity.as_str()))
            .collect();
        let theirs: Vec<String> = match answer_file(&f, "log.txt") {
            Some(p) => {
                logs += 1;
                std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect()
            }
            None => Vec::new(),
        };
        if ours != theirs {
            failures.push(format!(
                "{}:\n  ours:   {ours:?}\n  theirs: {theirs:?}",
                f.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(logs, 8);
}
