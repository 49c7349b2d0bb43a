//! The checked-in generated code is exactly what the generator writes now.

#[test]
fn generated_code_is_up_to_date() {
    let releases =
        ari_codegen::read_releases(&ari_codegen::default_spec_dir(), ari_codegen::RELEASES)
            .expect("spec folder is part of the repository");
    let overrides = ari_codegen::read_overrides(&ari_codegen::default_spec_dir()).unwrap();
    for (name, text) in ari_codegen::generate(&releases, overrides.as_ref()).unwrap() {
        let path = ari_codegen::default_out_dir().join(name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "{} is stale: run `cargo run -p ari-codegen`",
            path.display()
        );
    }
}
