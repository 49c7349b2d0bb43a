//! `ast top`: the channels and bridges up now, with their states.

use crate::args::{Args, Spec};
use crate::rest::Rest;
use crate::settings::{AMI_PREFIXED, ARI_PREFIXED, Ami, Ari};
use crate::style::{self, Style};
use crate::{Failure, Outcome};
use ari_proto::ops;
use futures_util::{FutureExt, StreamExt};
use serde_json::Value;
use std::time::Duration;

const HELP: &str = "\
ast top: the channels and bridges up now, with their states

Usage: ast top [--once] [--ami | --ari] [--interval SECS]

From AMI when AMI settings are given (AMI_URL or AMI_ADDR, or --ami-url):
the picture is kept from the manager's events, resynced after each login
(CoreShowChannels, BridgeList), and redrawn on each change. Otherwise from
ARI (ARI_URL or --ari-url): GET /channels and GET /bridges, asked again
every --interval seconds (ARI's events cover only an application's own
objects, so the whole PBX is polled instead).

  --once            print one snapshot (once the picture is whole) and exit
  --ami, --ari      choose the source when both are set
  --interval SECS   ARI's polling interval [default: 1]
  --events CLASSES  AMI's Events: of the login [default: on; call,dialplan suffice]

Connection (options win over the environment):
  --ami-url ADDR  --ami-user USER  --ami-secret SECRET  --ami-auth md5|plain
      (AMI_URL or AMI_ADDR, AMI_USER, AMI_SECRET, AMI_AUTH)
  --ari-url URL   --ari-user USER  --ari-password PASS  --ari-ca FILE
      (ARI_URL, ARI_USER, ARI_PASSWORD, ARI_CA: a PEM file of the certificates
      to trust for https://, instead of the webpki roots)
Secrets are never printed.
";

/// One channel as a row.
struct ChannelRow {
    name: String,
    state: String,
    caller: String,
    place: String,
    bridge: String,
    group: String,
}

/// One bridge as a row.
struct BridgeRow {
    id: String,
    kind: String,
    channels: Vec<String>,
}

/// `ast top`.
pub async fn top(argv: &[String]) -> Outcome {
    let mut values = AMI_PREFIXED.to_vec();
    values.extend(ARI_PREFIXED);
    values.extend(["interval", "events"]);
    let spec = Spec {
        values: Box::leak(values.into_boxed_slice()),
        switches: &["once", "ami", "ari"],
    };
    let args = Args::parse(argv, &spec)?;
    if args.help {
        out!("{HELP}");
        return Ok(());
    }
    if let Some(extra) = args.positional.first() {
        return Err(Failure::usage(format!("unexpected argument {extra:?}")));
    }
    let use_ami = if args.has("ami") {
        true
    } else if args.has("ari") {
        false
    } else if Ami::given(&args, "ami-") {
        true
    } else if Ari::given(&args, "ari-") {
        false
    } else {
        return Err(Failure::usage(
            "no AMI or ARI settings: set AMI_URL (or --ami-url) or ARI_URL (or --ari-url)",
        ));
    };
    let once = args.has("once");
    if use_ami {
        ami_top(&args, once).await
    } else {
        let interval = args.number("interval")?.unwrap_or(1).max(1);
        ari_top(&args, once, Duration::from_secs(interval)).await
    }
}

async fn ami_top(args: &Args, once: bool) -> Outcome {
    let settings = Ami::from(args, "ami-")?;
    let mask = crate::settings::event_mask(args.value("events").unwrap_or("on"));
    let config = settings.config(mask, true)?;
    let client = ari_tokio::ami::client(config)
        .map_err(|e| Failure::failed(format!("cannot use {}: {e}", settings.address)))?;
    let picture = client.picture();
    let mut changes = picture.changes();
    client
        .open()
        .await
        .map_err(|e| Failure::failed(format!("cannot log in to {}: {e}", settings.address)))?;
    let style = Style::for_stdout();
    while let Some(first) = changes.next().await {
        let _ = first;
        // Draw once for everything that came together.
        while let Some(Some(_)) = changes.next().now_or_never() {}
        if !picture.is_whole() {
            continue;
        }
        let (channels, bridges) = {
            let tracker = picture.lock();
            let channels = tracker
                .channels()
                .map(|c| ChannelRow {
                    name: c.name().to_string(),
                    state: c.state_desc().to_string(),
                    caller: caller(c.caller_id_num(), c.caller_id_name()),
                    place: place(
                        c.application(),
                        c.app_data(),
                        c.context(),
                        c.exten(),
                        &c.priority().to_string(),
                    ),
                    bridge: c
                        .bridge()
                        .map(|b| b.uniqueid().to_string())
                        .unwrap_or_default(),
                    group: c.linkedid().to_string(),
                })
                .collect();
            let bridges = tracker
                .bridges()
                .map(|b| BridgeRow {
                    id: b.uniqueid().to_string(),
                    kind: format!("{} {}", b.bridge_type(), b.technology()),
                    channels: b.channels().map(|c| c.name().to_string()).collect(),
                })
                .collect();
            (channels, bridges)
        };
        let text = render(&settings.address, channels, bridges, &style);
        if once {
            out!("{text}");
            break;
        }
        out!("\x1b[H\x1b[2J{text}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
    }
    client.close().await;
    Ok(())
}

async fn ari_top(args: &Args, once: bool, interval: Duration) -> Outcome {
    let settings = Ari::from(args, "ari-")?;
    let mut rest = Rest::new(&settings)?;
    let style = Style::for_stdout();
    let mut last = String::new();
    loop {
        let fail = |e: ari_proto::RequestError| {
            Failure::failed(format!("{}: {}", settings.url, settings.explain(e)))
        };
        let channels = rest
            .request(ops::channels::List::new())
            .await
            .map_err(fail)?;
        let bridges = rest
            .request(ops::bridges::List::new())
            .await
            .map_err(fail)?;
        let channels: Vec<Value> = channels
            .iter()
            .filter_map(|c| serde_json::to_value(c).ok())
            .collect();
        let bridges: Vec<Value> = bridges
            .iter()
            .filter_map(|b| serde_json::to_value(b).ok())
            .collect();
        let s = |v: &Value, path: &[&str]| {
            let mut v = v;
            for p in path {
                v = &v[*p];
            }
            match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            }
        };
        let name_of = |id: &str| {
            channels
                .iter()
                .find(|c| s(c, &["id"]) == id)
                .map_or(id.to_string(), |c| s(c, &["name"]))
        };
        let channel_rows = channels
            .iter()
            .map(|c| {
                let id = s(c, &["id"]);
                ChannelRow {
                    name: s(c, &["name"]),
                    state: s(c, &["state"]),
                    caller: caller(&s(c, &["caller", "number"]), &s(c, &["caller", "name"])),
                    place: place(
                        &s(c, &["dialplan", "app_name"]),
                        &s(c, &["dialplan", "app_data"]),
                        &s(c, &["dialplan", "context"]),
                        &s(c, &["dialplan", "exten"]),
                        &s(c, &["dialplan", "priority"]),
                    ),
                    bridge: bridges
                        .iter()
                        .find(|b| {
                            b["channels"]
                                .as_array()
                                .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(&id)))
                        })
                        .map(|b| s(b, &["id"]))
                        .unwrap_or_default(),
                    group: s(c, &["creationtime"]),
                }
            })
            .collect();
        let bridge_rows = bridges
            .iter()
            .map(|b| BridgeRow {
                id: s(b, &["id"]),
                kind: format!("{} {}", s(b, &["bridge_type"]), s(b, &["technology"])),
                channels: b["channels"]
                    .as_array()
                    .map(|l| l.iter().filter_map(Value::as_str).map(name_of).collect())
                    .unwrap_or_default(),
            })
            .collect();
        let text = render(&settings.url, channel_rows, bridge_rows, &style);
        if once {
            out!("{text}");
            return Ok(());
        }
        if text != last {
            out!("\x1b[H\x1b[2J{text}");
            use std::io::Write;
            let _ = std::io::stdout().flush();
            last = text;
        }
        tokio::time::sleep(interval).await;
    }
}

fn caller(number: &str, name: &str) -> String {
    // Asterisk's placeholder for nothing known.
    fn known(s: &str) -> &str {
        if s == "<unknown>" { "" } else { s }
    }
    match (known(number), known(name)) {
        ("", "") => String::new(),
        (n, "") | ("", n) => n.to_string(),
        (n, name) => format!("{n} \"{name}\""),
    }
}

fn place(app: &str, data: &str, context: &str, exten: &str, priority: &str) -> String {
    if !app.is_empty() {
        format!("{app}({data})")
    } else if !context.is_empty() {
        format!("{context},{exten},{priority}")
    } else {
        String::new()
    }
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        format!("{text:<width$}")
    } else {
        let mut t: String = text.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The whole view as text.
fn render(
    source: &str,
    mut channels: Vec<ChannelRow>,
    mut bridges: Vec<BridgeRow>,
    style: &Style,
) -> String {
    channels.sort_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name)));
    bridges.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = format!(
        "{} {} channels, {} bridges, on {source} at {}\n\n",
        style.paint(style::BOLD, "ast top:"),
        channels.len(),
        bridges.len(),
        crate::format::clock_now(),
    );
    let width = |f: &dyn Fn(&ChannelRow) -> usize, head: usize, max: usize| {
        channels.iter().map(f).max().unwrap_or(0).clamp(head, max)
    };
    let wn = width(&|c| c.name.chars().count(), 7, 40);
    let ws = width(&|c| c.state.chars().count(), 5, 12);
    let wc = width(&|c| c.caller.chars().count(), 6, 24);
    let wp = width(&|c| c.place.chars().count(), 5, 36);
    out.push_str(&style.paint(
        style::DIM,
        &format!(
            "{} {} {} {} BRIDGE",
            cut("CHANNEL", wn),
            cut("STATE", ws),
            cut("CALLER", wc),
            cut("WHERE", wp)
        ),
    ));
    out.push('\n');
    for c in &channels {
        let colour = match c.state.as_str() {
            "Up" => style::GREEN,
            "Ring" | "Ringing" | "Dialing" => style::YELLOW,
            "Busy" => style::RED,
            _ => style::DIM,
        };
        out.push_str(
            format!(
                "{} {} {} {} {}",
                cut(&c.name, wn),
                style.paint(colour, &cut(&c.state, ws)),
                cut(&c.caller, wc),
                cut(&c.place, wp),
                c.bridge
            )
            .trim_end(),
        );
        out.push('\n');
    }
    if channels.is_empty() {
        out.push_str("(no channels)\n");
    }
    out.push('\n');
    let wb = bridges
        .iter()
        .map(|b| b.id.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 40);
    let wk = bridges
        .iter()
        .map(|b| b.kind.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, 30);
    out.push_str(&style.paint(
        style::DIM,
        &format!("{} {} CHANNELS", cut("BRIDGE", wb), cut("TYPE", wk)),
    ));
    out.push('\n');
    for b in &bridges {
        out.push_str(&format!(
            "{} {} {}\n",
            cut(&b.id, wb),
            cut(&b.kind, wk),
            b.channels.join(", ")
        ));
    }
    if bridges.is_empty() {
        out.push_str("(no bridges)\n");
    }
    out
}
