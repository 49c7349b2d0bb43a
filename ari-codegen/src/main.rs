//! Regenerates `ari-proto/src/generated` from ARI declarations.
//!
//! ```text
//! ari-codegen                          # from this crate's spec/asterisk-{18,20,22,23}
//! ari-codegen SPEC_DIR [REPO_ROOT]     # SPEC_DIR: one release's *.json, or asterisk-NN folders
//! ari-codegen fetch URL USER PASSWORD DIR
//!                                      # save a live Asterisk's declarations into DIR
//! ```

use std::path::PathBuf;
use std::process::exit;

fn fail(message: String) -> ! {
    eprintln!("ari-codegen: {message}");
    exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("fetch") {
        let [_, url, user, password, dir] = &args[..] else {
            fail("usage: ari-codegen fetch URL USER PASSWORD DIR".into())
        };
        match ari_codegen::fetch::fetch_declarations(url, user, password, &PathBuf::from(dir)) {
            Ok(files) => println!("saved {files} files into {dir}"),
            Err(e) => fail(e),
        }
        return;
    }
    let spec_dir = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(ari_codegen::default_spec_dir);
    let releases = match args.first() {
        None => ari_codegen::read_releases(&spec_dir, ari_codegen::RELEASES),
        Some(_) => ari_codegen::read_spec_dir(&spec_dir),
    }
    .unwrap_or_else(|e| fail(e));
    let overrides = ari_codegen::read_overrides(&spec_dir).unwrap_or_else(|e| fail(e));
    let files = ari_codegen::generate(&releases, overrides.as_ref()).unwrap_or_else(|e| fail(e));
    let out = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(ari_codegen::default_out_dir);
    for (name, text) in files {
        let path = out.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            fail(format!("{}: {e}", path.display()));
        }
        println!("wrote {}", path.display());
    }
}
