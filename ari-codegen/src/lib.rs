//! Generates `ari-proto`'s typed models, events and operations from the ARI
//! (Swagger 1.1) declarations of one or more Asterisk releases.
//!
//! The output is checked in under `ari-proto/src/generated/`; a test
//! regenerates it in memory and fails when the two differ.

pub mod emit_handles;
pub mod emit_models;
pub mod emit_ops;
pub mod fetch;
pub mod names;
pub mod spec;

use std::path::{Path, PathBuf};

/// The releases this repository generates from, oldest first.
pub const RELEASES: &[&str] = &["18", "20", "22", "23"];

/// The spec folder shipped in this repository.
pub fn default_spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("spec")
}

/// The repository root: generated file paths are relative to it.
pub fn default_out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Reads `asterisk-{release}` folders under `spec_dir`.
pub fn read_releases(spec_dir: &Path, releases: &[&str]) -> Result<Vec<spec::Release>, String> {
    releases
        .iter()
        .map(|r| spec::Release::read_dir(r, &spec_dir.join(format!("asterisk-{r}"))))
        .collect()
}

/// Reads `dir`: one release if it holds `resources.json` itself, else every
/// `asterisk-NN` folder in it, oldest first.
pub fn read_spec_dir(dir: &Path) -> Result<Vec<spec::Release>, String> {
    if dir.join("resources.json").exists() {
        let label = dir.file_name().and_then(|n| n.to_str()).unwrap_or("live");
        return Ok(vec![spec::Release::read_dir(label, dir)?]);
    }
    let mut labels: Vec<(u32, String)> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let label = name.strip_prefix("asterisk-")?.to_string();
            Some((label.parse().ok()?, label))
        })
        .collect();
    labels.sort();
    if labels.is_empty() {
        return Err(format!(
            "{}: no resources.json and no asterisk-NN folders",
            dir.display()
        ));
    }
    let labels: Vec<&str> = labels.iter().map(|(_, l)| l.as_str()).collect();
    read_releases(dir, &labels)
}

/// Reads `overrides.json` beside the release folders, if there is one.
pub fn read_overrides(spec_dir: &Path) -> Result<Option<serde_json::Value>, String> {
    let path = spec_dir.join("overrides.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The generated files: (path from the repository root, contents).
pub fn generate(
    releases: &[spec::Release],
    overrides: Option<&serde_json::Value>,
) -> Result<Vec<(&'static str, String)>, String> {
    let mut merged = spec::merge(releases);
    if let Some(o) = overrides {
        spec::apply_overrides(&mut merged, o)?;
    }
    spec::name_enums(&mut merged, overrides)?;
    [
        (
            "ari-proto/src/generated/models.rs",
            emit_models::models_file(&merged),
        ),
        (
            "ari-proto/src/generated/events.rs",
            emit_models::events_file(&merged),
        ),
        (
            "ari-proto/src/generated/operations.rs",
            emit_ops::operations_file(&merged),
        ),
        (
            "ari-client/src/handles.rs",
            emit_handles::handles_file(&merged),
        ),
    ]
    .into_iter()
    .map(|(path, code)| Ok((path, rustfmt(&code).map_err(|e| format!("{path}: {e}"))?)))
    .collect()
}

/// Formats generated code as `cargo fmt` formats the rest of the workspace,
/// with the toolchain's rustfmt (`$RUSTFMT` if set).
pub fn rustfmt(code: &str) -> Result<String, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let program = std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".into());
    let mut child = Command::new(&program)
        .args(["--edition", "2024", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program} (rustup component add rustfmt): {e}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    // Written from a thread: rustfmt answers only once it has read it all,
    // and the code is larger than a pipe holds.
    let writer = std::thread::scope(|scope| {
        let writer = scope.spawn(move || stdin.write_all(code.as_bytes()));
        let output = child.wait_with_output();
        (writer.join(), output)
    });
    let (written, output) = writer;
    let output = output.map_err(|e| format!("{program}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    written
        .map_err(|_| format!("{program}: writer panicked"))?
        .map_err(|e| format!("{program}: {e}"))?;
    String::from_utf8(output.stdout).map_err(|e| format!("{program}: {e}"))
}
