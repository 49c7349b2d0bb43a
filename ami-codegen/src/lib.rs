//! Generates `ami-proto`'s typed AMI actions and events, and
//! `agi-proto`'s typed AGI commands, from Asterisk's XML documentation
//! (`core-en_US.xml`) of several releases.
//!
//! The trimmed XML of each release is in `spec/asterisk-NN/`
//! (`ami-codegen extract` makes it from a full file); `spec/overrides.json`
//! says where the AMI wire differs from the XML, and `spec/agi.json` adds
//! what the XML does not say about AGI commands (argument types, dead
//! channels, replies). The output is checked in under
//! `ami-proto/src/generated/` and `agi-proto/src/generated/`; a test
//! regenerates it in memory and fails when the two differ.

pub mod agi;
pub mod emit;
pub mod model;
pub mod spec;
pub mod xml;

use std::path::{Path, PathBuf};

/// The releases this repository generates from, oldest first.
pub const RELEASES: &[&str] = &["20", "22", "23"];

/// The spec folder shipped in this repository.
pub fn default_spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("spec")
}

/// The repository root: generated file paths are relative to it.
pub fn default_out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Reads `asterisk-{release}/core-en_US.xml` under `spec_dir` for each of
/// [`RELEASES`].
pub fn read_releases(spec_dir: &Path) -> Result<Vec<spec::Release>, String> {
    RELEASES
        .iter()
        .map(|r| {
            let path = spec_dir.join(format!("asterisk-{r}/core-en_US.xml"));
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            spec::Release::parse(r, &text).map_err(|e| format!("{}: {e}", path.display()))
        })
        .collect()
}

/// Reads `overrides.json` in `spec_dir`.
pub fn read_overrides(spec_dir: &Path) -> Result<serde_json::Value, String> {
    let path = spec_dir.join("overrides.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The generated AGI files: (path from the repository root, contents).
pub fn generate_agi(
    releases: &[spec::Release],
    agi_spec: &serde_json::Value,
) -> Result<Vec<(&'static str, String)>, String> {
    let merged = spec::merge(releases);
    [
        ("agi-proto/src/generated/mod.rs", agi::mod_file()),
        (
            "agi-proto/src/generated/commands.rs",
            agi::commands_file(&merged, agi_spec)?,
        ),
    ]
    .into_iter()
    .map(|(path, code)| {
        let code = ari_codegen::rustfmt(&code).map_err(|e| format!("{path}: {e}"))?;
        Ok((path, code))
    })
    .collect()
}

/// The generated AMI files: (path from the repository root, contents).
pub fn generate(
    releases: &[spec::Release],
    overrides: &serde_json::Value,
) -> Result<Vec<(&'static str, String)>, String> {
    let model = model::build(&spec::merge(releases), overrides)?;
    [
        ("ami-proto/src/generated/mod.rs", emit::mod_file()),
        (
            "ami-proto/src/generated/events.rs",
            emit::events_file(&model)?,
        ),
        (
            "ami-proto/src/generated/actions.rs",
            emit::actions_file(&model)?,
        ),
    ]
    .into_iter()
    .map(|(path, code)| {
        let code = ari_codegen::rustfmt(&code).map_err(|e| format!("{path}: {e}"))?;
        Ok((path, code))
    })
    .collect()
}
