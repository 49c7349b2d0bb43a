//! The ARI commands: `events`, `call` and `info`.

use crate::args::{Args, Spec};
use crate::format;
use crate::rest::Rest;
use crate::settings::{ARI_OPTIONS, Ari};
use crate::style::{self, Style};
use crate::{Failure, Outcome};
use ari_proto::{OperationInfo, ParamInfo, ParamLocation, RequestError, Version, WireRequest, ops};
use futures_util::StreamExt;
use serde_json::Value;
use std::io::Write;
use std::time::Instant;

const CONNECTION_HELP: &str = "\
Connection (options win over the environment):
  --url URL          ARI_URL       base URL [default: http://localhost:8088]
  --user USER        ARI_USER      ARI user
  --password PASS    ARI_PASSWORD  its password (never printed)
  --ca FILE          ARI_CA        https:// trusts this file's certificates
                                   (PEM: a private CA, a self-signed one)
                                   instead of the webpki roots";

fn events_help() -> String {
    format!(
        "\
ast events: tail the ARI events WebSocket, one line per event

Usage: ast events [APP...] [--all] [--type T] [--id ID] [--json] [--count N]

Registers the Stasis applications APP (default: ARI_APP, or \"ast\") and
prints each event as it comes: time, type, the objects it names (channel,
bridge, playback ... as id (name, state)) and its other fields.

  APP...           applications to register (also --app A,B)
  --all            every event of the system (subscribeAll), not only the apps'
  --type T         only events of type T (repeat or comma-separate; Channel* for a prefix)
  --id ID          only events naming object ID (a channel, bridge, playback ...)
  --json           one JSON object per line, as the typed API reads it
  --count N        stop after N events

{CONNECTION_HELP}
  --app APP          ARI_APP       application(s) to register [default: ast]

Reconnects by itself (notices on standard error); Ctrl-C stops it.
"
    )
}

/// `ast events`.
pub async fn events(argv: &[String]) -> Outcome {
    let spec = Spec {
        values: &[
            "url", "user", "password", "app", "ca", "type", "id", "count",
        ],
        switches: &["all", "json"],
    };
    let args = Args::parse(argv, &spec)?;
    if args.help {
        out!("{}", events_help());
        return Ok(());
    }
    let settings = Ari::from(&args, "")?;
    let apps = if args.positional.is_empty() {
        settings.apps.clone()
    } else {
        args.positional.clone()
    };
    let mut config = settings.config(&apps)?;
    config.subscribe_all = args.has("all");
    let types = args.list("type");
    let ids = args.list("id");
    let count = args.number("count")?;
    let json = args.has("json");
    let client = ari_tokio::connect_with_tls(config, settings.tls()?)
        .await
        .map_err(|e| {
            let why = settings.explain(e);
            Failure::failed(format!("cannot connect to {}: {why}", settings.url))
        })?;
    let stream = client.events().map(Either::Event);
    let connection = client.connection_events().map(Either::Connection);
    let version = client
        .server_version()
        .map_or(String::new(), |v| format!(" (Asterisk {v})"));
    eprintln!(
        "connected to {}{version}: events of {}{}; Ctrl-C stops",
        settings.url,
        apps.join(", "),
        if args.has("all") {
            " and every other object (--all)"
        } else {
            ""
        }
    );
    let style = Style::for_stdout();
    let mut inputs = futures_util::stream::select(stream, connection);
    let mut shown = 0u64;
    let mut out = std::io::stdout();
    while let Some(input) = inputs.next().await {
        let event = match input {
            Either::Event(Ok(event)) => event,
            Either::Event(Err(lagged)) => {
                eprintln!("ast: {} events lost: the output is too slow", lagged.0);
                continue;
            }
            Either::Connection(change) => {
                eprintln!("ast: {}", connection_words(&change));
                continue;
            }
        };
        let value = serde_json::to_value(&event).unwrap_or(Value::Null);
        if !wanted(&value, &types, &ids) {
            continue;
        }
        let line = if json {
            serde_json::to_string(&event).unwrap_or_default()
        } else {
            format::ari_line(&value, &style)
        };
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            break; // The reader went away (`| head`).
        }
        shown += 1;
        if count.is_some_and(|c| shown >= c) {
            break;
        }
    }
    client.close().await;
    Ok(())
}

enum Either<E, C> {
    Event(E),
    Connection(C),
}

fn connection_words(change: &ari_proto::ConnectionEvent) -> String {
    use ari_proto::ConnectionEvent as C;
    match change {
        C::Connecting { attempt } => format!("connecting (attempt {})", attempt + 1),
        C::Open { reconnected: true } => "reconnected".into(),
        C::Open { .. } => "connected".into(),
        C::Closed(why) => format!("the events WebSocket closed: {why}"),
        C::Backoff { attempt, .. } => format!("retrying (attempt {})", attempt + 1),
        C::Replaced { application } => {
            format!("another connection took over application {application}")
        }
        C::Stopped => "stopped".into(),
        other => format!("{other:?}"),
    }
}

/// Whether an event passes `--type` and `--id`.
fn wanted(event: &Value, types: &[String], ids: &[String]) -> bool {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
    let type_ok = types.is_empty()
        || types.iter().any(|t| match t.strip_suffix('*') {
            Some(prefix) => kind
                .to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase()),
            None => kind.eq_ignore_ascii_case(t),
        });
    let id_ok = ids.is_empty() || {
        let named = format::ari_ids(event);
        ids.iter().any(|id| named.contains(id))
    };
    type_ok && id_ok
}

// ---------------------------------------------------------------- call

/// A name for matching: lower case, without `_`, `-` and `.`.
fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn op_name(info: &OperationInfo) -> String {
    format!("{} {}", info.resource, info.name)
}

fn call_help() -> String {
    let mut out = format!(
        "\
ast call: any ARI operation by name; prints Asterisk's JSON answer

Usage: ast call RESOURCE OPERATION [name=value ...]
       ast call OPERATION [name=value ...]      (when the name is unique)
       ast call RESOURCE OPERATION --help       (its parameters)

  e.g. ast call channels originate endpoint=PJSIP/100 app=hello
       ast call channels.answer channelId=1795361410.9
       ast call bridges create type=mixing

Parameters are the operation's own (path, query and body alike), typed as
the generated API declares them: integers, booleans, allowed values and
lists (comma-joined) are checked here; a body parameter (variables, fields,
filter) takes JSON. An operation that creates an object (originate, create,
play, record, snoop) gets an id chosen here when none is given, as the
client library does. The answer goes to standard output; an error answer is
one line on standard error with Asterisk's message, and exit code 1. No
events WebSocket is opened and no application registered.

{CONNECTION_HELP}

Operations ({} of the ARI of Asterisk 18 to 23):
",
        ops::ALL_OPERATIONS.iter().filter(|i| !i.upgrade).count()
    );
    let mut resources: Vec<(&str, Vec<&str>)> = Vec::new();
    for info in ops::ALL_OPERATIONS.iter().filter(|i| !i.upgrade) {
        match resources.last_mut() {
            Some((r, names)) if *r == info.resource => names.push(info.name),
            _ => resources.push((info.resource, vec![info.name])),
        }
    }
    for (resource, names) in resources {
        out.push_str(&format!("  {resource}:\n"));
        out.push_str(&wrap(&names, 4, 78));
    }
    out
}

/// Words in lines of at most `width` columns, each indented `indent`.
pub fn wrap(words: &[&str], indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for w in words {
        if !line.is_empty() && indent + line.len() + 1 + w.len() > width {
            out.push_str(&format!("{}{line}\n", " ".repeat(indent)));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        out.push_str(&format!("{}{line}\n", " ".repeat(indent)));
    }
    out
}

fn param_words(p: &ParamInfo) -> String {
    let place = match p.location {
        ParamLocation::Path => "path",
        ParamLocation::Query => "query",
        ParamLocation::BodyField => "JSON body field",
        ParamLocation::Body => "the JSON body",
        _ => "elsewhere",
    };
    let mut words = vec![
        if p.required { "required" } else { "optional" }.to_string(),
        p.ty.to_string(),
    ];
    if p.list {
        words.push("a list, comma-joined".into());
    }
    words.push(place.to_string());
    if let Some(d) = p.default {
        words.push(format!("default {d}"));
    }
    if !p.allowed.is_empty() {
        words.push(format!("one of {}", p.allowed.join(", ")));
    }
    words.join("; ")
}

fn operation_help(info: &OperationInfo) -> String {
    let since: Vec<String> = info.since.iter().map(Version::to_string).collect();
    let mut out = format!(
        "ast call {}: {} /ari{} (since Asterisk {})\n\nParameters:\n",
        op_name(info),
        info.method.as_str(),
        info.path,
        since.join(", ")
    );
    let params = ops::params_of(info);
    if params.is_empty() {
        out.push_str("  (none)\n");
    }
    for p in params {
        out.push_str(&format!("  {:<28} {}\n", p.name, param_words(p)));
    }
    out
}

/// The operation positionals name, and how many positionals named it.
fn find_op(words: &[String]) -> Result<(&'static OperationInfo, usize), Failure> {
    let callable = || ops::ALL_OPERATIONS.iter().copied().filter(|i| !i.upgrade);
    let first = words
        .first()
        .ok_or_else(|| Failure::usage("no operation given"))?;
    if let Some((resource, name)) = first.split_once('.') {
        let found =
            callable().find(|i| fold(i.resource) == fold(resource) && fold(i.name) == fold(name));
        return found
            .map(|i| (i, 1))
            .ok_or_else(|| Failure::usage(format!("no operation {first}")));
    }
    if let Some(second) = words.get(1).filter(|w| !w.contains('=')) {
        if let Some(i) =
            callable().find(|i| fold(i.resource) == fold(first) && fold(i.name) == fold(second))
        {
            return Ok((i, 2));
        }
        if callable().any(|i| fold(i.resource) == fold(first)) {
            return Err(Failure::usage(format!("no operation {first} {second}")));
        }
    }
    let named: Vec<&OperationInfo> = callable().filter(|i| fold(i.name) == fold(first)).collect();
    match named[..] {
        [one] => Ok((one, 1)),
        [] => Err(Failure::usage(format!("no operation {first}"))),
        _ => {
            let all: Vec<String> = named.iter().map(|i| op_name(i)).collect();
            Err(Failure::usage(format!(
                "{first} is ambiguous: {}",
                all.join(", ")
            )))
        }
    }
}

/// Checks a value against a parameter's declared type.
fn check_value(info: &OperationInfo, p: &ParamInfo, value: &str) -> Result<(), Failure> {
    let bad =
        |why: String| Failure::usage(format!("{} {}={value:?}: {why}", op_name(info), p.name));
    let items: Vec<&str> = if p.list {
        value.split(',').collect()
    } else {
        vec![value]
    };
    for item in items {
        match p.ty {
            "int" | "long" if item.parse::<i64>().is_err() => {
                return Err(bad("not an integer".into()));
            }
            "boolean" if item != "true" && item != "false" => {
                return Err(bad("not true or false".into()));
            }
            _ => {}
        }
        if !p.allowed.is_empty() && !p.allowed.contains(&item) {
            return Err(bad(format!("allowed: {}", p.allowed.join(", "))));
        }
    }
    Ok(())
}

/// `ast call`.
pub async fn call(argv: &[String]) -> Outcome {
    let spec = Spec {
        values: ARI_OPTIONS,
        switches: &[],
    };
    let args = Args::parse(argv, &spec)?;
    if args.positional.is_empty() {
        out!("{}", call_help());
        return if args.help {
            Ok(())
        } else {
            Err(Failure::usage("no operation given"))
        };
    }
    let (info, used) = find_op(&args.positional)?;
    if args.help {
        out!("{}", operation_help(info));
        return Ok(());
    }
    let params = ops::params_of(info);
    let mut given: Vec<(&ParamInfo, String)> = Vec::new();
    for pair in &args.positional[used..] {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| Failure::usage(format!("{pair:?} is not name=value")))?;
        let p = params
            .iter()
            .find(|p| p.name == name)
            .or_else(|| params.iter().find(|p| fold(p.name) == fold(name)))
            .ok_or_else(|| {
                let names: Vec<&str> = params.iter().map(|p| p.name).collect();
                Failure::usage(format!(
                    "{} has no parameter {name:?} (it has: {})",
                    op_name(info),
                    names.join(", ")
                ))
            })?;
        if matches!(p.location, ParamLocation::Path | ParamLocation::Query) {
            check_value(info, p, value)?;
        }
        given.push((p, value.to_string()));
    }
    for p in params.iter().filter(|p| p.required) {
        if !given.iter().any(|(g, _)| g.name == p.name) {
            return Err(Failure::usage(format!(
                "{} needs {} ({})",
                op_name(info),
                p.name,
                param_words(p)
            )));
        }
    }
    let mut wire = WireRequest::default();
    let mut body = serde_json::Map::new();
    let mut whole_body = None;
    for p in params.iter().filter(|p| p.location == ParamLocation::Path) {
        let value = given.iter().find(|(g, _)| g.name == p.name);
        wire.path_params
            .push(value.map(|(_, v)| v.clone()).unwrap_or_default());
    }
    for (p, value) in &given {
        match p.location {
            ParamLocation::Query => wire.query.push((p.name.to_string(), value.clone())),
            ParamLocation::BodyField | ParamLocation::Body => {
                let json: Value = serde_json::from_str(value).map_err(|e| {
                    Failure::usage(format!("{} {}: not JSON: {e}", op_name(info), p.name))
                })?;
                if p.location == ParamLocation::Body {
                    whole_body = Some(json);
                } else {
                    body.insert(p.name.to_string(), json);
                }
            }
            _ => {}
        }
    }
    let body = whole_body.or((!body.is_empty()).then_some(Value::Object(body)));
    wire.body = body.as_ref();
    let settings = Ari::from(&args, "")?;
    let mut rest = Rest::new(&settings)?;
    let (id, _) = ops::start_from_wire(rest.session(), info, &wire, Instant::now())
        .map_err(|e| Failure::usage(format!("{}: {e}", op_name(info))))?;
    let answer = rest
        .finish(id)
        .await
        .map_err(|e| request_failure(&settings, e))?;
    if answer.body.is_empty() {
        return Ok(());
    }
    let mut out = std::io::stdout();
    match std::str::from_utf8(&answer.body) {
        Ok(text) if serde_json::from_str::<Value>(text).is_ok() => {
            if let Err(e) = ops::decode_any_response(info, &answer.body) {
                eprintln!("ast: note: the answer does not fit the typed model: {e}");
            }
            let _ = writeln!(out, "{}", format::indent_json(text));
        }
        // A stored recording's file, or text: as it came.
        _ => {
            let _ = out.write_all(&answer.body);
        }
    }
    let _ = out.flush();
    Ok(())
}

/// A failed request as one line: Asterisk's own words when it answered.
fn request_failure(settings: &Ari, e: RequestError) -> Failure {
    match e {
        RequestError::Api(api) => Failure::failed(api.to_string()),
        RequestError::Transport(why) => Failure::failed(format!(
            "cannot reach {}: {}",
            settings.url,
            settings.explain(why)
        )),
        other => Failure::failed(other.to_string()),
    }
}

// ---------------------------------------------------------------- info

fn info_help() -> String {
    format!(
        "\
ast info: what the server is and what the typed API can do there

Usage: ast info

Asks GET /asterisk/info and GET /asterisk/modules, and prints the release,
the modules loaded and running, and which of the typed API's operations
this release has (the client refuses the others locally, unsent).

{CONNECTION_HELP}
"
    )
}

/// `ast info`.
pub async fn info(argv: &[String]) -> Outcome {
    let spec = Spec {
        values: ARI_OPTIONS,
        switches: &[],
    };
    let args = Args::parse(argv, &spec)?;
    if args.help {
        out!("{}", info_help());
        return Ok(());
    }
    if let Some(extra) = args.positional.first() {
        return Err(Failure::usage(format!("unexpected argument {extra:?}")));
    }
    let settings = Ari::from(&args, "")?;
    let mut rest = Rest::new(&settings)?;
    let fail = |e| request_failure(&settings, e);
    let about = rest
        .request(ops::asterisk::GetInfo::new())
        .await
        .map_err(fail)?;
    let modules = rest
        .request(ops::asterisk::ListModules::new())
        .await
        .map_err(fail)?;
    let style = Style::for_stdout();
    let release = about
        .system
        .as_ref()
        .map_or("an unknown release".to_string(), |s| s.version.to_string());
    let mut out = String::new();
    out.push_str(&format!(
        "{} at {}\n",
        style.paint(style::BOLD, &format!("Asterisk {release}")),
        settings.url
    ));
    if let Some(system) = &about.system {
        out.push_str(&format!("  entity id   {}\n", system.entity_id));
    }
    if let Some(build) = &about.build {
        out.push_str(&format!(
            "  built       {} on {} {} ({})\n",
            build.date, build.os, build.machine, build.kernel
        ));
    }
    if let Some(status) = &about.status {
        out.push_str(&format!(
            "  up since    {} (last reload {})\n",
            status.startup_time, status.last_reload_time
        ));
    }
    let running = modules.iter().filter(|m| m.status == "Running").count();
    out.push_str(&format!(
        "  modules     {} loaded, {running} running\n",
        modules.len()
    ));
    let callable: Vec<&OperationInfo> = ops::ALL_OPERATIONS
        .iter()
        .copied()
        .filter(|i| !i.upgrade)
        .collect();
    match Version::parse(&release) {
        Some(version) => {
            let missing: Vec<&OperationInfo> = callable
                .iter()
                .copied()
                .filter(|i| !version.has(i.since))
                .collect();
            out.push_str(&format!(
                "  typed API   {} of {} operations on {version}\n",
                callable.len() - missing.len(),
                callable.len()
            ));
            for i in missing {
                let since: Vec<String> = i.since.iter().map(Version::to_string).collect();
                out.push_str(&format!(
                    "    {} {}\n",
                    style.paint(style::YELLOW, &format!("not here: {}", op_name(i))),
                    style.paint(style::DIM, &format!("(since {})", since.join(", ")))
                ));
            }
        }
        None => out.push_str(&format!(
            "  typed API   {} operations; release {release:?} unknown, so nothing is gated\n",
            callable.len()
        )),
    }
    out!("{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn operations_are_found_by_any_of_their_names() {
        let (i, n) = find_op(&words(&["channels", "originate", "endpoint=x"])).unwrap();
        assert_eq!((i.resource, i.name, n), ("channels", "originate", 2));
        let (i, n) = find_op(&words(&["channels.answer"])).unwrap();
        assert_eq!((i.name, n), ("answer", 1));
        let (i, _) = find_op(&words(&["device-states", "list"])).unwrap();
        assert_eq!(i.resource, "deviceStates");
        let (i, n) = find_op(&words(&["originateWithId", "channelId=x"])).unwrap();
        assert_eq!((i.name, n), ("originateWithId", 1));
        assert!(matches!(
            find_op(&words(&["list"])),
            Err(Failure::Usage(m)) if m.contains("ambiguous")
        ));
        assert!(find_op(&words(&["channels", "nope"])).is_err());
    }

    #[test]
    fn values_are_checked_as_declared() {
        let (info, _) = find_op(&words(&["channels", "originate"])).unwrap();
        let p = |n: &str| ops::params_of(info).iter().find(|p| p.name == n).unwrap();
        assert!(check_value(info, p("timeout"), "30").is_ok());
        assert!(check_value(info, p("timeout"), "soon").is_err());
        let (info, _) = find_op(&words(&["channels", "record"])).unwrap();
        let if_exists = ops::params_of(info)
            .iter()
            .find(|p| p.name == "ifExists")
            .unwrap();
        assert!(check_value(info, if_exists, "overwrite").is_ok());
        assert!(check_value(info, if_exists, "sometimes").is_err());
    }

    #[test]
    fn help_lists_operations_and_parameters() {
        let help = call_help();
        assert!(help.contains("  channels:\n"), "{help}");
        assert!(help.contains(" originate "), "{help}");
        assert!(help.lines().all(|l| l.len() <= 78), "{help}");
        let (info, _) = find_op(&words(&["channels", "originate"])).unwrap();
        let help = operation_help(info);
        assert!(help.contains("POST /ari/channels"), "{help}");
        assert!(help.contains("endpoint"), "{help}");
        assert!(help.contains("required; string; query"), "{help}");
    }
}
