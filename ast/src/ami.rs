//! The AMI commands: `ami events`, `ami action` and `ami command`.

use crate::args::{Args, Spec};
use crate::format;
use crate::settings::{AMI_OPTIONS, Ami, event_mask};
use crate::style::{self, Style};
use crate::{Failure, Outcome};
use ami_proto::actions::ALL_ACTIONS;
use ami_proto::{Action, ActionError, ActionInfo, HeaderInfo, Message, Selector};
use ari_tokio::ami::{self, AmiClient};
use futures_util::StreamExt;
use std::io::Write;

/// `ast ami --help`.
pub const HELP: &str = "\
ast ami: the Asterisk Manager Interface

Usage: ast ami events [--name N] [--match TEXT] [--filter RE] [--json] [--count N]
       ast ami action NAME [Key=Value ...] [--raw] [--json]
       ast ami command \"CLI COMMAND\" ...

Connection (options win over the environment):
  --url ADDR         AMI_URL or AMI_ADDR  host:port, tcp://... or tls://... [default: localhost:5038]
  --user USER        AMI_USER             manager.conf user
  --secret SECRET    AMI_SECRET           its secret (never printed)
  --auth md5|plain   AMI_AUTH             MD5 challenge (the default: the secret stays off the wire) or plain

Each command has --help.
";

const CONNECTION_HELP: &str = "\
Connection: --url, --user, --secret, --auth (or AMI_URL/AMI_ADDR, AMI_USER,
AMI_SECRET, AMI_AUTH); see `ast ami --help`.";

fn events_help() -> String {
    format!(
        "\
ast ami events: tail the manager's events, one line per event

Usage: ast ami events [--name N] [--match TEXT] [--filter RE] [--json] [--count N] [--events CLASSES]

Each event as: time (UTC, as received), name, each channel it carries as
NAME (State), then its other headers.

  --name N          only events called N (repeat or comma-separate; Dial* for a prefix)
  --match TEXT      only events whose text holds TEXT (any header or value, any case)
  --filter RE       Asterisk's own event filter, applied by Asterisk: a POSIX
                    regular expression over the event's text (its
                    Key: Value lines); only events it matches are sent, and
                    a leading ! drops what matches instead (repeat for several)
  --json            one JSON object per line, headers in the order received
  --count N         stop after N events
  --events CLASSES  the Events: of the login: on (default), or classes (call,dtmf,...)

{CONNECTION_HELP}
"
    )
}

/// Connects and logs in, or says why not in one line.
async fn connect(settings: &Ami, config: ami_proto::Config) -> Result<AmiClient, Failure> {
    ami::connect(config)
        .await
        .map_err(|e| Failure::failed(format!("cannot log in to {}: {e}", settings.address)))
}

/// `ast ami events`.
pub async fn events(argv: &[String]) -> Outcome {
    let mut values = AMI_OPTIONS.to_vec();
    values.extend(["name", "match", "filter", "count", "events"]);
    let spec = Spec {
        values: Box::leak(values.into_boxed_slice()),
        switches: &["json"],
    };
    let args = Args::parse(argv, &spec)?;
    if args.help {
        out!("{}", events_help());
        return Ok(());
    }
    if let Some(extra) = args.positional.first() {
        return Err(Failure::usage(format!("unexpected argument {extra:?}")));
    }
    let settings = Ami::from(&args, "")?;
    let mask = event_mask(args.value("events").unwrap_or("on"));
    let mut config = settings.config(mask, true)?;
    config.filters = args
        .all("filter")
        .map(ami_proto::EventFilter::regex)
        .collect();
    let names: Vec<String> = args
        .list("name")
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .collect();
    let needle = args.value("match").map(str::to_ascii_lowercase);
    let count = args.number("count")?;
    let json = args.has("json");
    let client = ami::client(config)
        .map_err(|e| Failure::failed(format!("cannot use {}: {e}", settings.address)))?;
    // Made before the login, so that its events are seen too.
    let selector = if names.is_empty() {
        Selector::all()
    } else {
        Selector::matching(move |name| {
            let name = name.to_ascii_lowercase();
            names.iter().any(|n| match n.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *n,
            })
        })
    };
    let mut stream = client.subscribe(selector);
    let mut connection = client.connection_events();
    client
        .open()
        .await
        .map_err(|e| Failure::failed(format!("cannot log in to {}: {e}", settings.address)))?;
    eprintln!("logged in to {}; Ctrl-C stops", settings.address);
    let style = Style::for_stdout();
    let mut out = std::io::stdout();
    let mut shown = 0u64;
    loop {
        let event = select_next(&mut stream, &mut connection).await;
        let event = match event {
            Next::Event(Some(Ok(event))) => event,
            Next::Event(Some(Err(lagged))) => {
                eprintln!("ast: {} events lost: the output is too slow", lagged.0);
                continue;
            }
            Next::Event(None) => break,
            Next::Connection(ami_proto::ConnectionEvent::FilterRefused { filter, reason }) => {
                client.close().await;
                return Err(Failure::failed(format!(
                    "Asterisk refused --filter {:?}: {reason}",
                    filter.filter
                )));
            }
            Next::Connection(change) => {
                if let Some(words) = connection_words(&change) {
                    eprintln!("ast: {words}");
                }
                continue;
            }
        };
        let m = event.message();
        if let Some(needle) = &needle
            && !String::from_utf8_lossy(m.as_bytes())
                .to_ascii_lowercase()
                .contains(needle.as_str())
        {
            continue;
        }
        let line = if json {
            format::ami_json(m)
        } else {
            format::ami_line(event.name(), m, &style)
        };
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            break;
        }
        shown += 1;
        if count.is_some_and(|c| shown >= c) {
            break;
        }
    }
    client.close().await;
    Ok(())
}

/// What a change of the connection means to someone tailing events; the
/// first login says nothing (the command said it is logged in).
fn connection_words(change: &ami_proto::ConnectionEvent) -> Option<String> {
    use ami_proto::ConnectionEvent as C;
    Some(match change {
        C::Closed(why) => format!("the connection closed: {why}"),
        C::Backoff { attempt, .. } => format!("reconnecting (attempt {})", attempt + 1),
        C::Open { reconnected: true } => {
            "logged in again (events of the time in between are lost)".into()
        }
        _ => return None,
    })
}

enum Next<E> {
    Event(Option<E>),
    Connection(ami_proto::ConnectionEvent),
}

/// Waits for the next event or connection change.
async fn select_next<E, S, C>(events: &mut S, connection: &mut C) -> Next<E>
where
    S: futures_util::Stream<Item = E> + Unpin,
    C: futures_util::Stream<Item = ami_proto::ConnectionEvent> + Unpin,
{
    use std::task::Poll;
    let mut connection_open = true;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(e) = events.poll_next_unpin(cx) {
            return Poll::Ready(Next::Event(e));
        }
        if connection_open {
            match connection.poll_next_unpin(cx) {
                Poll::Ready(Some(c)) => return Poll::Ready(Next::Connection(c)),
                Poll::Ready(None) => connection_open = false,
                Poll::Pending => {}
            }
        }
        Poll::Pending
    })
    .await
}

// ---------------------------------------------------------------- action

fn action_help() -> String {
    let names: Vec<&str> = ALL_ACTIONS.iter().map(|(info, _)| info.name).collect();
    format!(
        "\
ast ami action: any manager action by name; prints its answer

Usage: ast ami action NAME [Key=Value ...] [--raw] [--json] [--events CLASSES]
       ast ami action NAME --help      (its headers)

  e.g. ast ami action CoreShowChannels
       ast ami action Originate Channel=PJSIP/100 Application=Playback Data=hello-world
       ast ami action Setvar Variable=GLOBAL_X Value=1

A documented action (below) is typed: its name is spelled as Asterisk
documents it, every header must be one it declares and the required ones
must be there. Any other name is sent as given (raw), and --raw sends a
documented one as given too. The answer is printed whole: the response,
then each item of an event list and the event that completed it (or an
asynchronous Originate's OriginateResponse), as Name: value blocks, or one
JSON object per message with --json. A refused action exits 1 with
Asterisk's message.

  --raw             send the headers as given, unchecked
  --json            JSON lines instead of Name: value blocks
  --events CLASSES  the Events: of the login [default: off; call for Async Originate]

{CONNECTION_HELP}

Documented actions ({}):
{}",
        names.len(),
        crate::ari::wrap(&names, 2, 78)
    )
}

fn header_help(info: &ActionInfo, headers: &[HeaderInfo]) -> String {
    let mut out = format!("ast ami action {}", info.name);
    if !info.since.is_empty() {
        out.push_str(&format!(" (since Asterisk {})", info.since.join(", ")));
    }
    if let Some(done) = info.list_complete {
        out.push_str(&format!("\nAnswers with an event list that {done} ends."));
    }
    out.push_str("\n\nHeaders:\n");
    if headers.is_empty() {
        out.push_str("  (none)\n");
    }
    for h in headers {
        let mut words = vec![if h.required { "required" } else { "optional" }.to_string()];
        if h.repeated {
            words.push("may be repeated".into());
        }
        if !h.values.is_empty() {
            words.push(format!("one of {}", h.values.join(", ")));
        }
        let name = if h.free { "Any-Header" } else { h.name }
            .replace("{n6}", "000000")
            .replace("{n}", "0");
        if h.free {
            words.push("headers of your choosing".into());
        }
        out.push_str(&format!("  {name:<28} {}\n", words.join("; ")));
    }
    out
}

/// The documented action `name` (any case).
fn documented(name: &str) -> Option<&'static (&'static ActionInfo, &'static [HeaderInfo])> {
    ALL_ACTIONS
        .iter()
        .find(|(info, _)| info.name.eq_ignore_ascii_case(name))
}

/// The action to send: typed (checked against its declaration) or raw.
fn build(name: &str, pairs: &[(String, String)], raw: bool) -> Result<Action, Failure> {
    let typed = documented(name).filter(|_| !raw);
    let Some((info, headers)) = typed else {
        if !raw && documented(name).is_none() {
            eprintln!("ast: note: {name} is not a documented action; sent as given");
        }
        return Ok(pairs
            .iter()
            .fold(Action::new(name), |a, (k, v)| a.header(k, v)));
    };
    let free = headers.iter().any(|h| h.free);
    let mut action = Action::new(info.name);
    for (key, value) in pairs {
        let declared = headers.iter().find(|h| h.matches(key));
        let key = match declared {
            // Spelled as documented (templates keep the number given).
            Some(h) if !h.name.contains('{') => h.name.to_string(),
            Some(_) => key.clone(),
            None if free => key.clone(),
            None => {
                let names: Vec<&str> = headers.iter().map(|h| h.name).collect();
                return Err(Failure::usage(format!(
                    "{} has no header {key} (it has: {}; --raw sends it anyway)",
                    info.name,
                    names.join(", ")
                )));
            }
        };
        action = action.header(key, value);
    }
    for h in headers
        .iter()
        .filter(|h| h.required && !h.name.contains('{'))
    {
        if !pairs.iter().any(|(k, _)| h.matches(k)) {
            return Err(Failure::usage(format!("{} needs {}", info.name, h.name)));
        }
    }
    Ok(action)
}

/// `Key=Value` arguments as pairs.
fn pairs(words: &[String]) -> Result<Vec<(String, String)>, Failure> {
    words
        .iter()
        .map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| Failure::usage(format!("{w:?} is not Key=Value")))
        })
        .collect()
}

/// `ast ami action`.
pub async fn action(argv: &[String]) -> Outcome {
    let mut values = AMI_OPTIONS.to_vec();
    values.push("events");
    let spec = Spec {
        values: Box::leak(values.into_boxed_slice()),
        switches: &["raw", "json"],
    };
    let args = Args::parse(argv, &spec)?;
    let Some(name) = args.positional.first() else {
        out!("{}", action_help());
        return if args.help {
            Ok(())
        } else {
            Err(Failure::usage("no action given"))
        };
    };
    if args.help {
        match documented(name) {
            Some((info, headers)) => out!("{}", header_help(info, headers)),
            None => outln!(
                "{name} is not a documented action: `ast ami action {name} Key=Value ...` sends it as given."
            ),
        }
        return Ok(());
    }
    let given = pairs(&args.positional[1..])?;
    let action = build(name, &given, args.has("raw"))?;
    let settings = Ami::from(&args, "")?;
    let async_originate = action.name().eq_ignore_ascii_case("Originate")
        && action
            .headers()
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("Async") && is_true(v));
    let default_mask = if async_originate { "call" } else { "off" };
    let mask = event_mask(args.value("events").unwrap_or(default_mask));
    let client = connect(&settings, settings.config(mask, false)?).await?;
    let answer = client.send(action.clone()).await;
    client.close().await;
    let style = Style::for_stdout();
    let json = args.has("json");
    match answer {
        Ok(answer) => {
            let mut out = String::new();
            let all = std::iter::once(&answer.response)
                .chain(&answer.items)
                .chain(answer.completion.as_ref());
            for (i, m) in all.enumerate() {
                if json {
                    out.push_str(&format::ami_json(m));
                    out.push('\n');
                } else {
                    if i > 0 {
                        out.push('\n');
                    }
                    out.push_str(&paint_block(m, &style));
                }
            }
            out!("{out}");
            Ok(())
        }
        Err(e) => Err(action_failure(action.name(), e)),
    }
}

fn is_true(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "yes" | "1" | "on" | "y" | "t"
    )
}

/// A message as `Name: value` lines, names in colour on a terminal.
fn paint_block(m: &Message, style: &Style) -> String {
    let block = format::ami_block(m);
    let mut out = String::new();
    for line in block.lines() {
        match line.split_once(": ") {
            Some((n, v)) => out.push_str(&format!("{}: {v}\n", style.paint(style::CYAN, n))),
            None => out.push_str(&format!("{line}\n")),
        }
    }
    out
}

fn action_failure(name: &str, e: ActionError) -> Failure {
    match e {
        ActionError::Refused { message, response } => {
            // A refused Command says why in its output.
            let output: Vec<String> = response
                .command_output()
                .iter()
                .map(|t| t.to_string())
                .collect();
            let why = if output.is_empty() {
                message
            } else {
                output.join(" / ")
            };
            Failure::failed(format!("Asterisk refused {name}: {why}"))
        }
        other => Failure::failed(format!("{name}: {other}")),
    }
}

// ---------------------------------------------------------------- command

fn command_help() -> String {
    format!(
        "\
ast ami command: run Asterisk CLI commands through the manager

Usage: ast ami command \"CLI COMMAND\" ...

  e.g. ast ami command \"core show channels\"
       ast ami command \"pjsip show endpoints\" \"core show uptime\"

Each command's output, line by line, in order (the Command action). A
command Asterisk refuses (no such command) is reported in its place on
standard error, in Asterisk's words; the others still run, and the exit
code is 1.

{CONNECTION_HELP}
"
    )
}

/// `ast ami command`.
pub async fn command(argv: &[String]) -> Outcome {
    let spec = Spec {
        values: AMI_OPTIONS,
        switches: &[],
    };
    let args = Args::parse(argv, &spec)?;
    if args.help {
        out!("{}", command_help());
        return Ok(());
    }
    if args.positional.is_empty() {
        return Err(Failure::usage("no CLI command given"));
    }
    let settings = Ami::from(&args, "")?;
    let client = connect(
        &settings,
        settings.config(ami_proto::EventMask::Off, false)?,
    )
    .await?;
    let mut out = std::io::stdout();
    let mut refused = Vec::new();
    for cli in &args.positional {
        let action = ami_proto::actions::Command::new(cli.as_str());
        match client.send(action).await {
            Ok(answer) => {
                for line in answer.response.command_output() {
                    let _ = writeln!(out, "{line}");
                }
            }
            // Said at once, in its place; the next command still runs.
            Err(e) => {
                let _ = out.flush();
                let (Failure::Failed(why) | Failure::Usage(why)) =
                    action_failure(&format!("{cli:?}"), e);
                eprintln!("ast: {why}");
                refused.push(cli.clone());
            }
        }
    }
    let _ = out.flush();
    client.close().await;
    match refused.len() {
        0 => Ok(()),
        n => Err(Failure::failed(format!(
            "{n} of {} commands failed",
            args.positional.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn documented_actions_are_checked() {
        let a = build(
            "originate",
            &p(&[("channel", "PJSIP/1"), ("Async", "true")]),
            false,
        )
        .unwrap();
        assert_eq!(a.name(), "Originate");
        assert_eq!(
            a.headers()[0],
            ("Channel".to_string(), "PJSIP/1".to_string())
        );
        assert!(matches!(
            build("Originate", &p(&[("Bogus", "1"), ("Channel", "x")]), false),
            Err(Failure::Usage(m)) if m.contains("no header Bogus")
        ));
        assert!(matches!(
            build("Originate", &p(&[("Exten", "1")]), false),
            Err(Failure::Usage(m)) if m.contains("needs Channel")
        ));
        let raw = build("Originate", &p(&[("Bogus", "1")]), true).unwrap();
        assert_eq!(raw.headers()[0].0, "Bogus");
        let unknown = build("MyOwnAction", &p(&[("X", "1")]), false).unwrap();
        assert_eq!(unknown.name(), "MyOwnAction");
        let user = build("UserEvent", &p(&[("UserEvent", "A"), ("Leg", "x")]), false).unwrap();
        assert_eq!(user.headers().len(), 2);
        let update = build(
            "UpdateConfig",
            &p(&[
                ("SrcFilename", "a.conf"),
                ("DstFilename", "a.conf"),
                ("Action-000000", "NewCat"),
                ("Cat-000000", "x"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(update.headers().len(), 4);
    }
}
