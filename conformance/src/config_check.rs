//! Configuration files against Asterisk's own reading of them: each file
//! is read with `asterisk-config` and the reading compared with what
//! Asterisk answered for the same file over AMI (`GetConfig`), and with
//! what it logged (`ast check FILE.conf ...` runs it).
//!
//! Asterisk's answers are found beside the file (`NAME.getconfig.txt`,
//! `NAME.getconfig-templates.txt`, `NAME.log.txt`) or in the `golden/`
//! folder beside the file's folder, as in `shared/asterisk-config`. The
//! file is read from its own folder, which plays Asterisk's `astetcdir`
//! (so `#include` finds the files beside it).
//!
//! For each file: the plain answer (no templates) and, when there is one,
//! the answer with templates must equal ours byte for byte: sections in
//! order, template flags, the templates each inherits, every line of every
//! section. The recorded answers have invalid UTF-8 replaced by U+FFFD
//! (the recording decoded them; Asterisk sends the bytes as they are), so
//! ours is compared after the same replacement. Then the log: every line
//! Asterisk logged (the copy was named `golden-NAME.conf` in `astetcdir`),
//! none more, none less. A file passes when all of these hold.

use std::path::{Path, PathBuf};

use asterisk_config::getconfig::GetConfigAnswer;
use asterisk_config::{FsResolver, Loader};

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

/// Checks one file: `Ok` with a one-line summary of the reading, or `Err`
/// with each difference from Asterisk's (or why there is nothing to
/// compare with).
pub fn check_file(file: &Path) -> Result<String, Vec<String>> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| vec!["not a file name".to_string()])?;
    let stem = file.file_stem().and_then(|n| n.to_str()).unwrap_or(name);
    let plain = answer_file(file, "getconfig.txt")
        .ok_or_else(|| vec![format!("no {stem}.getconfig.txt beside it or in ../golden")])?;
    let result = Loader::new(name).run(&mut FsResolver::new(dir));
    let mut problems = Vec::new();
    let mut compared = Vec::new();
    let templates = answer_file(file, "getconfig-templates.txt");
    for (path, with_templates) in [(Some(plain), false), (templates.clone(), true)] {
        let Some(path) = path else { continue };
        let expected =
            std::fs::read(&path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
        let ours = GetConfigAnswer::of(&result, with_templates);
        let bytes = ours.to_bytes(action_id(&expected).as_deref());
        if bytes != expected && String::from_utf8_lossy(&bytes).as_bytes() != expected {
            let diff = match GetConfigAnswer::parse(&expected) {
                Ok(theirs) => ours
                    .difference(&theirs)
                    .unwrap_or_else(|| "same sections, different bytes".into()),
                Err(e) => format!("cannot read Asterisk's answer: {e}"),
            };
            problems.push(format!(
                "GetConfig{}: {diff}",
                if with_templates { " (templates)" } else { "" }
            ));
        }
        compared.push(if with_templates { "templates" } else { "plain" });
    }
    if templates.is_none()
        && let Ok(cfg) = &result
        && cfg.all_sections().iter().any(|s| s.is_template())
    {
        problems.push("templates found that Asterisk's answer does not list".into());
    }

    // The log, with our paths written as the recording wrote Asterisk's.
    let diagnostics = match &result {
        Ok(cfg) => cfg.diagnostics().to_vec(),
        Err(e) => e.diagnostics.clone(),
    };
    let dir_text = format!("{}/", dir.display());
    let main_text = format!("{dir_text}{name}");
    let ours: Vec<String> = diagnostics
        .iter()
        .map(|d| {
            format!("{} config.c: {d}", d.severity.as_str())
                .replace(&main_text, &format!("<astetcdir>/golden-{name}"))
                .replace(&dir_text, "<astetcdir>/")
        })
        .collect();
    let log = answer_file(file, "log.txt");
    let theirs: Vec<String> = match &log {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| vec![format!("{}: {e}", p.display())])?
            .lines()
            .map(str::to_string)
            .collect(),
        None => Vec::new(),
    };
    if ours != theirs {
        let first = ours
            .iter()
            .zip(&theirs)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(theirs.len()));
        problems.push(format!(
            "log line {}: ours {:?}, Asterisk {:?}",
            first + 1,
            ours.get(first),
            theirs.get(first)
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let shape = match &result {
        Ok(cfg) => format!(
            "{} sections, {} lines",
            cfg.all_sections().len(),
            cfg.all_sections()
                .iter()
                .map(|s| s.variables().len())
                .sum::<usize>()
        ),
        Err(e) => format!("rejected as Asterisk rejects it: {e}"),
    };
    Ok(format!(
        "{shape}; GetConfig {}; log {} lines",
        compared.join("+"),
        theirs.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The corpus copied into asterisk-config: every file reads as
    /// Asterisk read it, and logs what Asterisk logged.
    #[test]
    fn corpus_passes() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../asterisk-config/tests/data");
        let mut files = Vec::new();
        for dir in ["samples", "cases"] {
            for e in std::fs::read_dir(data.join(dir)).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "conf") {
                    files.push(p);
                }
            }
        }
        files.sort();
        assert_eq!(files.len(), 118);
        let failed: Vec<_> = files
            .iter()
            .filter_map(|f| check_file(f).err().map(|e| (f, e)))
            .collect();
        assert!(failed.is_empty(), "{failed:#?}");
    }
}
