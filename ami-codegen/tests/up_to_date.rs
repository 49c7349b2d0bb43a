//! The checked-in generated code is exactly what the generator writes now.

#[test]
fn generated_code_is_up_to_date() {
    let spec = ami_codegen::default_spec_dir();
    let releases =
        ami_codegen::read_releases(&spec).expect("spec folder is part of the repository");
    let overrides = ami_codegen::read_overrides(&spec).unwrap();
    for (name, text) in ami_codegen::generate(&releases, &overrides).unwrap() {
        let path = ami_codegen::default_out_dir().join(name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "{} is stale: run `cargo run -p ami-codegen`",
            path.display()
        );
    }
}

/// The trimmed XML is what `extract` makes of itself: nothing was added
/// or dropped by hand.
#[test]
fn spec_is_extracted() {
    for r in ami_codegen::RELEASES {
        let path = ami_codegen::default_spec_dir().join(format!("asterisk-{r}/core-en_US.xml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let source = format!("asterisk-{r}/core-en_US.xml");
        assert_eq!(
            ami_codegen::xml::extract(&text, &source).unwrap(),
            text,
            "{}",
            path.display()
        );
    }
}
