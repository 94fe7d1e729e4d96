//! `template.yaml` as the tests read it (shared by `template.rs` and `events.rs`).

use serde_yaml::Value;

/// The parsed template; CloudFormation's short-form tags stay `Value::Tagged`.
pub fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A value under CloudFormation's short-form tags (`!Sub x` → `x`).
pub fn untagged(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => &tagged.value,
        other => other,
    }
}
