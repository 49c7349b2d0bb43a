//! Downloads the ARI declarations a running Asterisk serves under
//! `/ari/api-docs/`, over plain HTTP, with no dependencies.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

/// `host:port` and path prefix of an `http://` URL.
fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs can be fetched"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let authority = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let prefix = path
        .trim_end_matches('/')
        .trim_end_matches("ari")
        .trim_end_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("/{prefix}")
    };
    Ok((authority, prefix))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One GET, answered with HTTP/1.0 semantics (the body ends with the connection).
fn get(authority: &str, path_and_query: &str) -> Result<Vec<u8>, String> {
    let mut stream = TcpStream::connect(authority).map_err(|e| format!("{authority}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {path_and_query} HTTP/1.0\r\nHost: {authority}\r\nAccept: application/json\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers in the answer")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head.split_whitespace().nth(1).unwrap_or("?");
    if status != "200" {
        // The request line carries the api_key: name only the path.
        let path = path_and_query.split('?').next().unwrap_or_default();
        return Err(format!("GET {path}: status {status}"));
    }
    Ok(response[split + 4..].to_vec())
}

/// Saves `resources.json` and every declaration it lists into `dir`; returns
/// how many files were written.
pub fn fetch_declarations(
    url: &str,
    user: &str,
    password: &str,
    dir: &Path,
) -> Result<usize, String> {
    let (authority, prefix) = split_url(url)?;
    let key = format!("?api_key={}", percent_encode(&format!("{user}:{password}")));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let index = get(
        &authority,
        &format!("{prefix}/ari/api-docs/resources.json{key}"),
    )?;
    let parsed: serde_json::Value =
        serde_json::from_slice(&index).map_err(|e| format!("resources.json: {e}"))?;
    std::fs::write(dir.join("resources.json"), &index).map_err(|e| e.to_string())?;
    let mut written = 1;
    for api in parsed["apis"].as_array().into_iter().flatten() {
        let Some(path) = api["path"].as_str() else {
            continue;
        };
        let name = path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .replace("{format}", "json");
        if name.is_empty() || name.contains("..") {
            return Err(format!("resources.json lists an odd path: {path}"));
        }
        let body = get(&authority, &format!("{prefix}/ari/api-docs/{name}{key}"))?;
        std::fs::write(dir.join(&name), body).map_err(|e| e.to_string())?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn urls() {
        assert_eq!(
            split_url("http://pbx:8088").unwrap(),
            ("pbx:8088".into(), String::new())
        );
        assert_eq!(
            split_url("http://pbx/x/ari/").unwrap(),
            ("pbx:80".into(), "/x".into())
        );
        assert!(split_url("https://pbx").is_err());
    }

    /// A loopback server that answers like Asterisk's api-docs.
    #[test]
    fn fetches_every_listed_declaration_from_a_server() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..3 {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 2048];
                let n = s.read(&mut buf).unwrap();
                let line = String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .next()
                    .unwrap()
                    .to_string();
                let path = line.split_whitespace().nth(1).unwrap().to_string();
                let body = if path.starts_with("/ari/api-docs/resources.json") {
                    r#"{"apis":[{"path":"/api-docs/channels.{format}"},{"path":"/api-docs/events.{format}"}]}"#
                } else {
                    r#"{"apis":[],"models":{}}"#
                };
                write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
                seen.push(path);
            }
            seen
        });
        let dir = std::env::temp_dir().join(format!("ari-codegen-fetch-{}", std::process::id()));
        let written = fetch_declarations(&format!("http://{addr}"), "u", "p w", &dir).unwrap();
        assert_eq!(written, 3);
        assert!(dir.join("channels.json").exists() && dir.join("events.json").exists());
        let seen = server.join().unwrap();
        assert_eq!(seen[1], "/ari/api-docs/channels.json?api_key=u%3Ap%20w");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
