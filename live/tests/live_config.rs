//! Configuration files against the real Asterisk: files this crate writes
//! (new, then edited) are read by Asterisk (AMI `GetConfig`) exactly as
//! `asterisk-config` reads them, and a file Asterisk's own writer makes
//! (AMI `UpdateConfig`) reads here as Asterisk reads it and writes back
//! byte for byte.

use ari_tokio::ami::{self, Action, AmiClient, Config};
use asterisk_config::getconfig::GetConfigAnswer;
use asterisk_config::{Document, FsResolver, load};
use live::live;
use std::path::PathBuf;

fn etc_dir(live: &live::Live) -> PathBuf {
    live.run_dir.clone().expect("AST_RUN").join("etc")
}

/// Asterisk's reading of `name` (with templates listed or not), as AMI
/// answers it.
async fn asterisk_reads(manager: &AmiClient, name: &str, templates: bool) -> GetConfigAnswer {
    let mut action = Action::new("GetConfig").header("Filename", name);
    if templates {
        action = action.header("Filter", "TEMPLATES=include");
    }
    let bytes = match manager.send(action).await {
        Ok(answer) => answer.response.as_bytes().to_vec(),
        Err(ami::ActionError::Refused { response, .. }) => response.as_bytes().to_vec(),
        Err(e) => panic!("GetConfig {name}: {e}"),
    };
    GetConfigAnswer::parse(&bytes).expect("a GetConfig answer")
}

/// Asserts that Asterisk and this crate read `name` alike.
async fn same_reading(manager: &AmiClient, dir: &PathBuf, name: &str) {
    let ours = load(name, &mut FsResolver::new(dir));
    for templates in [false, true] {
        let theirs = asterisk_reads(manager, name, templates).await;
        let mine = GetConfigAnswer::of(&ours, templates);
        if let Some(difference) = mine.difference(&theirs) {
            panic!("{name} (templates {templates}): {difference}");
        }
    }
}

async fn manager(live: &live::Live) -> AmiClient {
    let config = Config::new(&live.ami_addr, "admin", "amp111").unwrap();
    ami::connect(config).await.expect("AMI login")
}

#[tokio::test]
async fn files_we_write_and_edit_read_the_same_in_asterisk() {
    let live = live!();
    let dir = etc_dir(&live);
    let manager = manager(&live).await;
    let name = format!("rs-live-{}.conf", std::process::id());
    let path = dir.join(&name);

    let mut doc = Document::parse("; written by the live tests\n");
    let base = doc.add_section("base", true, &[]).unwrap();
    doc.append(base, "context", "from-base").unwrap();
    doc.append(base, "allow", "ulaw").unwrap();
    let phone = doc.add_section("phone1", false, &["base"]).unwrap();
    doc.append(phone, "context", "office ; a comment stays a comment")
        .unwrap();
    doc.append(phone, "allow", "alaw").unwrap();
    let other = doc.add_section("other", false, &[]).unwrap();
    doc.append(other, "x", "1").unwrap();
    std::fs::write(&path, doc.as_bytes()).unwrap();
    same_reading(&manager, &dir, &name).await;

    // Edited: a value changed, one appended, one deleted, a section renamed.
    let mut doc = Document::parse(std::fs::read(&path).unwrap());
    let phone = doc.find_section("phone1").unwrap();
    doc.set(phone, "allow", "g722").unwrap();
    doc.append(phone, "callerid", "\"Alice\" <100>").unwrap();
    let other = doc.find_section("other").unwrap();
    assert_eq!(doc.delete(other, "x").unwrap(), 1);
    doc.rename_section(other, "renamed").unwrap();
    std::fs::write(&path, doc.as_bytes()).unwrap();
    same_reading(&manager, &dir, &name).await;

    std::fs::remove_file(&path).unwrap();
    manager.close().await;
}

#[tokio::test]
async fn a_file_asterisk_writes_reads_as_asterisk_reads_it() {
    let live = live!();
    let dir = etc_dir(&live);
    let manager = manager(&live).await;
    let source = format!("rs-live-src-{}.conf", std::process::id());
    let written = format!("rs-live-dst-{}.conf", std::process::id());
    std::fs::write(
        dir.join(&source),
        "; kept by Asterisk's writer?\n[general]\nfoo=bar ; trailing\n\n[t](!)\nt1=v\n\n[users](t)\nalice=1\n",
    )
    .unwrap();
    // Asterisk writes only over a file that exists in its directory (a
    // missing one "requires escalated privileges").
    std::fs::write(dir.join(&written), "").unwrap();
    let update = Action::new("UpdateConfig")
        .header("SrcFilename", &source)
        .header("DstFilename", &written)
        .header("Reload", "no")
        .header("Action-000000", "NewCat")
        .header("Cat-000000", "added")
        .header("Action-000001", "Append")
        .header("Cat-000001", "added")
        .header("Var-000001", "key")
        .header("Value-000001", "value with spaces")
        .header("Action-000002", "Update")
        .header("Cat-000002", "general")
        .header("Var-000002", "foo")
        .header("Value-000002", "baz")
        .header("Action-000003", "Append")
        .header("Cat-000003", "users")
        .header("Var-000003", "bob")
        .header("Value-000003", "2");
    manager.send(update).await.expect("UpdateConfig");
    let bytes = std::fs::read(dir.join(&written)).unwrap();
    // Asterisk's writer's output parses and writes back unchanged.
    assert_eq!(Document::parse(bytes.clone()).as_bytes(), &bytes[..]);
    same_reading(&manager, &dir, &written).await;
    let ours = load(&written, &mut FsResolver::new(&dir)).unwrap();
    assert_eq!(ours.get("general", "foo"), Some("baz"));
    assert_eq!(ours.get("added", "key"), Some("value with spaces"));
    assert_eq!(
        ours.get("users", "t1"),
        Some("v"),
        "inherited from the template"
    );
    assert_eq!(ours.get("users", "bob"), Some("2"));

    for name in [&source, &written] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    manager.close().await;
}
