//! `ari-codegen [SPEC_DIR [OUT_DIR]]`: regenerates `ari-proto/src/generated`.
//!
//! SPEC_DIR holds one `asterisk-NN` folder per release (default: the copy in
//! this crate). To generate from a live Asterisk, save its
//! `/ari/api-docs/*.json` into such a folder first.

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args_os().skip(1);
    let spec = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(ari_codegen::default_spec_dir);
    let out = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(ari_codegen::default_out_dir);
    let releases = match ari_codegen::read_releases(&spec, ari_codegen::RELEASES) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ari-codegen: {e}");
            std::process::exit(1);
        }
    };
    for (name, text) in ari_codegen::generate(&releases) {
        let path = out.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("ari-codegen: {}: {e}", path.display());
            std::process::exit(1);
        }
        println!("wrote {}", path.display());
    }
}
