//! `ast completions bash|zsh|fish`: completion scripts, with the ARI
//! operations and AMI actions of this build.

use crate::{Failure, Outcome};
use ami_proto::actions::ALL_ACTIONS;
use ari_proto::ops;
use std::fmt::Write;

/// Options of each command, for completion.
const OPTIONS: &[(&str, &str)] = &[
    (
        "events",
        "--all --type --id --json --count --url --user --password --app --ca --help",
    ),
    ("call", "--url --user --password --app --ca --help"),
    ("info", "--url --user --password --ca --help"),
    (
        "top",
        "--once --ami --ari --interval --events --ami-url --ami-user --ami-secret --ami-auth --ari-url --ari-user --ari-password --ari-ca --help",
    ),
    (
        "record",
        "ari ami agi --out --listen --to --scenario --description --once --help",
    ),
    ("serve", "--listen --user --password --patience --to --help"),
    ("agi", "serve replay --listen --script --to --help"),
    ("config", "show get set lint --help"),
    ("check", "--verbose --help"),
    ("completions", "bash zsh fish"),
];

const AMI_OPTIONS: &str = "--url --user --secret --auth --help";

/// Resources and each one's operations.
fn resources() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    for info in ops::ALL_OPERATIONS.iter().filter(|i| !i.upgrade) {
        match out.iter_mut().find(|(r, _)| *r == info.resource) {
            Some((_, names)) => names.push(info.name),
            None => out.push((info.resource, vec![info.name])),
        }
    }
    out
}

/// Every command, for the first word and `help`.
fn commands() -> String {
    crate::COMMANDS.join(" ")
}

fn bash() -> String {
    let actions: Vec<&str> = ALL_ACTIONS.iter().map(|(i, _)| i.name).collect();
    let resources = resources();
    let names: Vec<&str> = resources.iter().map(|(r, _)| *r).collect();
    let mut s = format!(
        "# ast completion for bash: eval \"$(ast completions bash)\"\n_ast() {{\n    local cur=\"${{COMP_WORDS[COMP_CWORD]}}\" cword=$COMP_CWORD\n    local words\n    if [ \"$cword\" -eq 1 ]; then\n        COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))\n        return\n    fi\n    case \"${{COMP_WORDS[1]}}\" in\n    help) words=\"{}\" ;;\n",
        commands(),
        commands()
    );
    let _ = write!(
        s,
        "    call)\n        if [ \"$cword\" -eq 2 ]; then\n            words=\"{}\"\n        elif [ \"$cword\" -eq 3 ]; then\n            case \"${{COMP_WORDS[2]}}\" in\n",
        names.join(" ")
    );
    for (resource, ops) in &resources {
        let _ = writeln!(s, "            {resource}) words=\"{}\" ;;", ops.join(" "));
    }
    let _ = write!(
        s,
        "            esac\n        else\n            words=\"--url --user --password --ca --help\"\n        fi ;;\n    ami)\n        if [ \"$cword\" -eq 2 ]; then\n            words=\"events action command\"\n        elif [ \"$cword\" -eq 3 ] && [ \"${{COMP_WORDS[2]}}\" = action ]; then\n            words=\"{}\"\n        elif [ \"${{COMP_WORDS[2]}}\" = events ]; then\n            words=\"--name --match --json --count --events {AMI_OPTIONS}\"\n        elif [ \"${{COMP_WORDS[2]}}\" = action ]; then\n            words=\"--raw --json --events {AMI_OPTIONS}\"\n        else\n            words=\"{AMI_OPTIONS}\"\n        fi ;;\n    serve|check)\n        if [[ \"$cur\" != -* ]]; then\n            COMPREPLY=($(compgen -f -- \"$cur\"))\n            return\n        fi\n        words=\"--listen --user --password --patience --to --verbose --help\" ;;\n",
        actions.join(" ")
    );
    for (command, options) in OPTIONS {
        if matches!(*command, "call" | "serve" | "check") {
            continue;
        }
        let _ = writeln!(s, "    {command}) words=\"{options}\" ;;");
    }
    s.push_str(
        "    esac\n    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\ncomplete -F _ast ast\n",
    );
    s
}

fn zsh() -> String {
    format!(
        "#compdef ast\n# ast completion for zsh: eval \"$(ast completions zsh)\"\nautoload -U +X bashcompinit && bashcompinit\n{}",
        bash()
    )
}

fn fish() -> String {
    let mut s = String::from("# ast completion for fish: ast completions fish | source\n");
    s.push_str("complete -c ast -f\n");
    let described = [
        ("events", "tail the ARI events"),
        ("call", "any ARI operation by name"),
        ("info", "server version and what the typed API supports"),
        ("ami", "the manager: events, action, command"),
        ("top", "the channels and bridges up now"),
        ("record", "a recording proxy writing a trace"),
        ("serve", "a fake Asterisk playing a trace"),
        ("check", "the conformance checks of traces"),
        (
            "agi",
            "a debugging FastAGI server, a recorded call replayed",
        ),
        ("config", "configuration files as Asterisk reads them"),
        ("completions", "a completion script"),
        ("help", "a command's help"),
    ];
    for (c, what) in described {
        let _ = writeln!(
            s,
            "complete -c ast -n __fish_use_subcommand -a {c} -d '{what}'"
        );
    }
    for (command, options) in OPTIONS {
        for o in options.split(' ') {
            match o.strip_prefix("--") {
                Some(long) => {
                    let _ = writeln!(
                        s,
                        "complete -c ast -n '__fish_seen_subcommand_from {command}' -l {long}"
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        "complete -c ast -n '__fish_seen_subcommand_from {command}' -a {o}"
                    );
                }
            }
        }
    }
    let resources = resources();
    let names: Vec<&str> = resources.iter().map(|(r, _)| *r).collect();
    let _ = writeln!(
        s,
        "complete -c ast -n '__fish_seen_subcommand_from call; and test (count (commandline -opc)) -eq 2' -a '{}'",
        names.join(" ")
    );
    for (resource, ops) in &resources {
        let _ = writeln!(
            s,
            "complete -c ast -n '__fish_seen_subcommand_from {resource}; and test (count (commandline -opc)) -eq 3' -a '{}'",
            ops.join(" ")
        );
    }
    let _ = writeln!(
        s,
        "complete -c ast -n '__fish_seen_subcommand_from ami; and test (count (commandline -opc)) -eq 2' -a 'events action command'"
    );
    let actions: Vec<&str> = ALL_ACTIONS.iter().map(|(i, _)| i.name).collect();
    let _ = writeln!(
        s,
        "complete -c ast -n '__fish_seen_subcommand_from action; and test (count (commandline -opc)) -eq 3' -a '{}'",
        actions.join(" ")
    );
    for o in AMI_OPTIONS.split(' ') {
        let _ = writeln!(
            s,
            "complete -c ast -n '__fish_seen_subcommand_from ami' -l {}",
            o.trim_start_matches('-')
        );
    }
    let _ = writeln!(
        s,
        "complete -c ast -n '__fish_seen_subcommand_from help' -a '{}'",
        commands()
    );
    s.push_str("complete -c ast -n '__fish_seen_subcommand_from serve check' -F\n");
    s
}

/// `ast completions SHELL`.
pub fn completions(argv: &[String]) -> Outcome {
    match argv.first().map(String::as_str) {
        Some("bash") => out!("{}", bash()),
        Some("zsh") => out!("{}", zsh()),
        Some("fish") => out!("{}", fish()),
        Some("-h" | "--help") => outln!(
            "ast completions: a completion script\n\nUsage: ast completions bash|zsh|fish\n\n  bash:  eval \"$(ast completions bash)\"   (in ~/.bashrc)\n  zsh:   eval \"$(ast completions zsh)\"    (in ~/.zshrc)\n  fish:  ast completions fish > ~/.config/fish/completions/ast.fish"
        ),
        Some(other) => return Err(Failure::usage(format!("no completions for {other:?}"))),
        None => return Err(Failure::usage("name a shell: bash, zsh or fish")),
    }
    Ok(())
}
