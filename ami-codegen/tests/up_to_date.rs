//! The checked-in generated code is exactly what the generator writes now.

#[test]
fn generated_code_is_up_to_date() {
    let spec = ami_codegen::default_spec_dir();
    let releases =
        ami_codegen::read_releases(&spec).expect("spec folder is part of the repository");
    let overrides = ami_codegen::read_overrides(&spec).unwrap();
    let agi_spec = ami_codegen::agi::read_spec(&spec).unwrap();
    let mut files = ami_codegen::generate(&releases, &overrides).unwrap();
    files.extend(ami_codegen::generate_agi(&releases, &agi_spec).unwrap());
    for (name, text) in files {
        let path = ami_codegen::default_out_dir().join(name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "{} is stale: run `cargo run -p ami-codegen`",
            path.display()
        );
    }
}

/// Every AGI command of the XML is generated, in every release.
#[test]
fn agi_commands_of_every_release() {
    let spec = ami_codegen::default_spec_dir();
    let releases = ami_codegen::read_releases(&spec).unwrap();
    for r in &releases {
        assert_eq!(r.agi.len(), 47, "Asterisk {}", r.label);
    }
    let merged = ami_codegen::spec::merge(&releases);
    assert_eq!(merged.agi.len(), 47);
    assert!(
        merged
            .agi
            .values()
            .all(|c| c.releases == ["20", "22", "23"])
    );
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
