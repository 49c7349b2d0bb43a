//! What the `ast` test files share: running the built binary, reading
//! what a background one announces, scratch files.

// Each test file uses only some of these.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `ast` binary under test, with no colours and no connection settings from the caller's environment.
pub fn ast(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ast"));
    c.args(args).env("NO_COLOR", "1");
    for var in [
        "ARI_URL",
        "ARI_USER",
        "ARI_PASSWORD",
        "ARI_APP",
        "ARI_CA",
        "AMI_URL",
        "AMI_ADDR",
        "AMI_USER",
        "AMI_SECRET",
        "AMI_AUTH",
    ] {
        c.env_remove(var);
    }
    c
}

/// Points a command at ARI on `url` as user `asterisk` with `password`.
pub fn ari_settings<'c>(c: &'c mut Command, url: &str, password: &str) -> &'c mut Command {
    c.env("ARI_URL", url)
        .env("ARI_USER", "asterisk")
        .env("ARI_PASSWORD", password)
}

/// Points a command at AMI on `address` as user `admin` with `secret`.
pub fn ami_settings<'c>(c: &'c mut Command, address: &str, secret: &str) -> &'c mut Command {
    c.env("AMI_URL", address)
        .env("AMI_USER", "admin")
        .env("AMI_SECRET", secret)
}

/// Starts a command with no input, its standard output piped and its standard error sent to `stderr`.
pub fn spawn(mut c: Command, stderr: Stdio) -> Child {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Runs a command to its end within `limit`, both outputs captured.
pub fn run_within(c: Command, limit: Duration) -> Output {
    finish(spawn(c, Stdio::piped()), limit)
}

/// Waits for a child to end within `limit`, killing it and showing its output if it does not.
pub fn finish(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "ast ran too long; stdout:\n{}\nstderr:\n{}",
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Bytes as text, invalid UTF-8 replaced.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A run's standard output as text.
pub fn stdout(out: &Output) -> String {
    text(&out.stdout)
}

/// A run's standard error as text.
pub fn stderr(out: &Output) -> String {
    text(&out.stderr)
}

/// Asserts exit code `code`, showing the output if not.
pub fn expect(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// Asserts the run succeeded: its standard output.
pub fn succeeded(out: &Output) -> String {
    expect(out, 0);
    stdout(out)
}

/// Starts a command in the background and reads the first `lines` lines it prints (newlines kept): the process, those lines and the rest of its output.
pub fn announced(
    c: Command,
    stderr: Stdio,
    lines: usize,
) -> (Child, Vec<String>, BufReader<ChildStdout>) {
    let mut child = spawn(c, stderr);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let read = (0..lines)
        .map(|_| {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            line
        })
        .collect();
    (child, read, out)
}

/// Starts `ast events` in the background and returns once it says it is connected: the process and that line.
pub fn events_once_connected(c: Command) -> (Child, String) {
    once_said(c, "connected to ")
}

/// Starts a command in the background and returns once the first line of
/// its stderr, which must start with `announcement`, is out: the process
/// and that line.
pub fn once_said(c: Command, announcement: &str) -> (Child, String) {
    let mut child = spawn(c, Stdio::piped());
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.starts_with(announcement), "{line}");
    // Drained so that it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
    });
    (child, line)
}

/// `ast serve` of an outbound-WebSocket `trace`: the fake Asterisk connects
/// to the application at `to` as user `ows` with `password` (at most 60 s).
pub fn serve_outbound(trace: &str, to: &str, password: &str) -> Output {
    let args = [
        "serve",
        trace,
        "--to",
        to,
        "--user",
        "ows",
        "--password",
        password,
    ];
    run_within(ast(&args), Duration::from_secs(60))
}

/// A loopback `host:port` nothing listens on at the moment.
pub fn free_local_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// A directory `{prefix}-{process id}` under the system's temporary one, created if missing.
pub fn scratch_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A process that does not end by itself, killed when the test ends, passed or not.
pub struct Stopped(pub Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
