//! A small command-line parser: options with a value (`--url X` or
//! `--url=X`), switches (`--json`), positionals, `--` (the rest is
//! positional) and `-h`/`--help`.

use crate::Failure;

/// What one command takes.
pub struct Spec {
    /// Options with a value, without their `--`.
    pub values: &'static [&'static str],
    /// Switches, without their `--`.
    pub switches: &'static [&'static str],
}

/// A parsed command line.
#[derive(Debug, Default)]
pub struct Args {
    values: Vec<(String, String)>,
    switches: Vec<String>,
    /// Arguments that are not options, in order.
    pub positional: Vec<String>,
    /// `-h` or `--help` was given.
    pub help: bool,
}

impl Args {
    /// Parses `args` as `spec` says; an unknown option is a usage error.
    pub fn parse(args: &[String], spec: &Spec) -> Result<Args, Failure> {
        let mut out = Args::default();
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            if arg == "--" {
                out.positional.extend(rest.cloned());
                break;
            }
            if arg == "-h" || arg == "--help" {
                out.help = true;
                continue;
            }
            if arg == "-v" && spec.switches.contains(&"verbose") {
                out.switches.push("verbose".into());
                continue;
            }
            let Some(option) = arg.strip_prefix("--") else {
                if arg.len() > 1 && arg.starts_with('-') {
                    return Err(Failure::usage(format!("unknown option {arg}")));
                }
                out.positional.push(arg.clone());
                continue;
            };
            let (name, inline) = match option.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (option, None),
            };
            if spec.values.contains(&name) {
                let value = match inline {
                    Some(v) => v,
                    None => rest
                        .next()
                        .cloned()
                        .ok_or_else(|| Failure::usage(format!("--{name} needs a value")))?,
                };
                out.values.push((name.to_string(), value));
            } else if spec.switches.contains(&name) {
                if inline.is_some() {
                    return Err(Failure::usage(format!("--{name} takes no value")));
                }
                out.switches.push(name.to_string());
            } else {
                return Err(Failure::usage(format!("unknown option --{name}")));
            }
        }
        Ok(out)
    }

    /// The last value given for `--name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value given for `--name`, each whole.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.values
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value given for `--name`, each split at commas.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.all(name)
            .flat_map(|v| v.split(','))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Whether the switch `--name` was given.
    pub fn has(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    /// A number given with `--name`.
    pub fn number(&self, name: &str) -> Result<Option<u64>, Failure> {
        self.value(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| Failure::usage(format!("--{name} takes a number, not {v:?}")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: Spec = Spec {
        values: &["url", "type"],
        switches: &["json", "verbose"],
    };

    fn parse(args: &[&str]) -> Result<Args, Failure> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Args::parse(&args, &SPEC)
    }

    #[test]
    fn options_switches_and_positionals() {
        let a = parse(&[
            "hello",
            "--url=http://x",
            "--type",
            "A,B",
            "--json",
            "--type",
            "C",
        ])
        .unwrap();
        assert_eq!(a.positional, ["hello"]);
        assert_eq!(a.value("url"), Some("http://x"));
        assert_eq!(a.list("type"), ["A", "B", "C"]);
        assert!(a.has("json") && !a.has("verbose") && !a.help);
        let a = parse(&["-v", "--", "--json", "-x"]).unwrap();
        assert!(a.has("verbose"));
        assert_eq!(a.positional, ["--json", "-x"]);
        assert!(parse(&["-h"]).unwrap().help);
    }

    #[test]
    fn mistakes_are_usage_errors() {
        for bad in [&["--nope"][..], &["--url"], &["--json=1"], &["-x"]] {
            assert!(matches!(parse(bad), Err(Failure::Usage(_))), "{bad:?}");
        }
    }
}
