//! `asterisk-config`: a configuration file as Asterisk reads it, one value,
//! one value set in place, lint.
//!
//! ```text
//! asterisk-config show FILE                    sections (! for templates, parents), variables
//! asterisk-config get FILE SECTION NAME        the first value (ast_variable_retrieve)
//! asterisk-config set FILE SECTION NAME VALUE  in place: only that line changes
//! asterisk-config lint FILE...                 against Asterisk's XML documentation
//! ```
//!
//! FILE is read from its own directory, which plays Asterisk's `astetcdir`
//! (`#include`s are found beside it). What Asterisk would log goes to
//! standard error.

use std::path::Path;
use std::process::exit;

use asterisk_config::{Config, Document, FsResolver, lint, load};

fn usage() -> ! {
    eprintln!("usage: asterisk-config show FILE");
    eprintln!("       asterisk-config get FILE SECTION NAME");
    eprintln!("       asterisk-config set FILE SECTION NAME VALUE");
    eprintln!("       asterisk-config lint FILE...");
    exit(2)
}

fn read(file: &str) -> Config {
    let path = Path::new(file);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_else(|| usage());
    match load(name, &mut FsResolver::new(dir)) {
        Ok(cfg) => {
            for d in cfg.diagnostics() {
                eprintln!("{} {d}", d.severity.as_str());
            }
            cfg
        }
        Err(e) => {
            for d in &e.diagnostics {
                eprintln!("{} {d}", d.severity.as_str());
            }
            eprintln!("{file}: Asterisk rejects this file: {e}");
            exit(1)
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args[..] {
        ["show", file] => print!("{}", read(file).to_text()),
        ["get", file, section, name] => match read(file).get(section, name) {
            Some(v) => println!("{v}"),
            None => exit(1),
        },
        ["set", file, section, name, value] => {
            let bytes = std::fs::read(file).unwrap_or_else(|e| {
                eprintln!("{file}: {e}");
                exit(1)
            });
            let mut doc = Document::parse(bytes);
            let Some(id) = doc.find_section(section) else {
                eprintln!("{file}: no section [{section}]");
                exit(1)
            };
            if let Err(e) = doc.set(id, name, value) {
                eprintln!("{file}: {e}");
                exit(1)
            }
            if let Err(e) = std::fs::write(file, doc.as_bytes()) {
                eprintln!("{file}: {e}");
                exit(1)
            }
        }
        ["lint", ref files @ ..] if !files.is_empty() => {
            let mut found = 0;
            for file in files {
                let name = Path::new(file)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("");
                if lint::Linter::for_file(name).is_none() {
                    eprintln!("{file}: Asterisk's XML does not describe {name}");
                    continue;
                }
                for f in lint::lint(name, &read(file)) {
                    println!("{f}");
                    found += 1;
                }
            }
            if found > 0 {
                exit(1)
            }
        }
        _ => usage(),
    }
}
