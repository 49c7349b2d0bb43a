//! `ast config`: a configuration file as Asterisk reads it, one value, one
//! value set in place, lint; on `asterisk-config`.

use crate::{Failure, Outcome};
use asterisk_config::{Config, Document, FsResolver, lint, load};
use std::path::Path;

/// `ast config --help`.
pub const HELP: &str = "\
ast config: Asterisk's configuration files, read as Asterisk reads them

Usage:
  ast config show FILE                    sections (! for templates, parents), variables
  ast config get FILE SECTION NAME        the first value, as ast_variable_retrieve gives it
  ast config set FILE SECTION NAME VALUE  in place: only that line changes
  ast config lint FILE...                 against Asterisk's XML documentation

FILE is read from its own directory, which plays Asterisk's astetcdir
(#include finds files beside it). What Asterisk would log goes to standard
error; a file Asterisk would reject fails with the reason.
";

/// Runs `ast config ...`.
pub fn config(args: &[String]) -> Outcome {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args[..] {
        [] | ["-h" | "--help"] => {
            out!("{HELP}");
            Ok(())
        }
        ["show", file] => {
            out!("{}", read(file)?.to_text());
            Ok(())
        }
        ["get", file, section, name] => match read(file)?.get(section, name) {
            Some(value) => {
                outln!("{value}");
                Ok(())
            }
            None => Err(Failure::failed(format!("{file}: no {name} in [{section}]"))),
        },
        ["set", file, section, name, value] => {
            let bytes = std::fs::read(file).map_err(|e| Failure::failed(format!("{file}: {e}")))?;
            let mut doc = Document::parse(bytes);
            let id = doc
                .find_section(section)
                .ok_or_else(|| Failure::failed(format!("{file}: no section [{section}]")))?;
            doc.set(id, name, value)
                .map_err(|e| Failure::failed(format!("{file}: {e}")))?;
            std::fs::write(file, doc.as_bytes())
                .map_err(|e| Failure::failed(format!("{file}: {e}")))
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
                for finding in lint::lint(name, &read(file)?) {
                    outln!("{finding}");
                    found += 1;
                }
            }
            match found {
                0 => Ok(()),
                n => Err(Failure::failed(format!("{n} findings"))),
            }
        }
        _ => Err(Failure::usage("see `ast config --help`")),
    }
}

/// `file` as Asterisk reads it; what Asterisk would log on standard error.
fn read(file: &str) -> Result<Config, Failure> {
    let path = Path::new(file);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Failure::usage(format!("{file}: not a file name")))?;
    match load(name, &mut FsResolver::new(dir)) {
        Ok(config) => {
            for d in config.diagnostics() {
                eprintln!("{} {d}", d.severity.as_str());
            }
            Ok(config)
        }
        Err(e) => {
            for d in &e.diagnostics {
                eprintln!("{} {d}", d.severity.as_str());
            }
            Err(Failure::failed(format!(
                "{file}: Asterisk rejects this file: {e}"
            )))
        }
    }
}
