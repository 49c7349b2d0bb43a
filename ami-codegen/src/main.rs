//! Regenerates `ami-proto/src/generated` and `agi-proto/src/generated`
//! from Asterisk's XML documentation.
//!
//! ```text
//! ami-codegen                          # from this crate's spec/asterisk-{20,22,23}
//! ami-codegen extract FULL.xml OUT.xml # cut a full core-en_US.xml down to
//!                                      # what the generator reads
//! ```

use std::path::PathBuf;
use std::process::exit;

fn fail(message: String) -> ! {
    eprintln!("ami-codegen: {message}");
    exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("extract") {
        let [_, full, out] = &args[..] else {
            fail("usage: ami-codegen extract FULL.xml OUT.xml".into())
        };
        let text = std::fs::read_to_string(full).unwrap_or_else(|e| fail(format!("{full}: {e}")));
        let source = PathBuf::from(full);
        let source = source
            .parent()
            .and_then(|p| p.file_name())
            .map(|d| format!("{}/core-en_US.xml", d.to_string_lossy()))
            .unwrap_or_else(|| "core-en_US.xml".into());
        let cut = ami_codegen::xml::extract(&text, &source).unwrap_or_else(|e| fail(e));
        std::fs::write(out, &cut).unwrap_or_else(|e| fail(format!("{out}: {e}")));
        println!("wrote {out} ({} of {} bytes)", cut.len(), text.len());
        return;
    }
    if !args.is_empty() {
        fail("usage: ami-codegen [extract FULL.xml OUT.xml]".into());
    }
    let spec_dir = ami_codegen::default_spec_dir();
    let releases = ami_codegen::read_releases(&spec_dir).unwrap_or_else(|e| fail(e));
    let overrides = ami_codegen::read_overrides(&spec_dir).unwrap_or_else(|e| fail(e));
    let agi_spec = ami_codegen::agi::read_spec(&spec_dir).unwrap_or_else(|e| fail(e));
    let mut files = ami_codegen::generate(&releases, &overrides).unwrap_or_else(|e| fail(e));
    files.extend(ami_codegen::generate_agi(&releases, &agi_spec).unwrap_or_else(|e| fail(e)));
    let out = ami_codegen::default_out_dir();
    for (name, text) in files {
        let path = out.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            fail(format!("{}: {e}", path.display()));
        }
        println!("wrote {}", path.display());
    }
}
