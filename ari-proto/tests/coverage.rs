//! Every operation, model and event type that Asterisk 22 and 23 declare has
//! a typed counterpart.

use ari_proto::events::EVENT_TYPES;
use ari_proto::models::MODEL_NAMES;
use ari_proto::ops::ALL_OPERATIONS;
use serde_json::Value;
use std::path::Path;

fn declarations(release: &str) -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../ari-codegen/spec/asterisk-{release}"));
    let mut docs = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() != "resources.json" {
            docs.push(serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap());
        }
    }
    docs
}

#[test]
fn every_declared_operation_model_and_event_is_typed() {
    for release in ["22", "23"] {
        let mut ops = 0;
        let mut missing = Vec::new();
        for doc in declarations(release) {
            for api in doc["apis"].as_array().into_iter().flatten() {
                let path = api["path"].as_str().unwrap();
                for op in api["operations"].as_array().into_iter().flatten() {
                    ops += 1;
                    let method = op["httpMethod"].as_str().unwrap();
                    if !ALL_OPERATIONS
                        .iter()
                        .any(|i| i.path == path && i.method.as_str() == method)
                    {
                        missing.push(format!("operation {method} {path}"));
                    }
                }
            }
            for (name, _) in doc["models"].as_object().into_iter().flatten() {
                let typed = MODEL_NAMES.contains(&name.as_str())
                    || EVENT_TYPES.contains(&name.as_str())
                    || name == "Message"
                    || name == "Event";
                if !typed {
                    missing.push(format!("model {name}"));
                }
            }
            if let Some(subtypes) = doc["models"]["Event"]["subTypes"].as_array() {
                assert_eq!(
                    subtypes.len(),
                    45,
                    "Asterisk {release} declares 45 event types"
                );
                for t in subtypes {
                    if !EVENT_TYPES.contains(&t.as_str().unwrap()) {
                        missing.push(format!("event {t}"));
                    }
                }
            }
        }
        assert_eq!(ops, 109, "Asterisk {release} declares 109 operations");
        assert!(
            missing.is_empty(),
            "Asterisk {release}: no typed counterpart for {missing:?}"
        );
    }
    assert!(EVENT_TYPES.contains(&"MissingParams"));
    assert_eq!(EVENT_TYPES.len(), 46);
}
