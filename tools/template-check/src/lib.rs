//! Reads `template.yaml` the way CloudFormation does and checks the stack's contracts in
//! `cargo test -p template-check` (tests/template.rs): every function capped by its reserved
//! concurrency and the HTTP API throttled, stateful resources retained, each role granting
//! exactly the calls its code makes (`functions/<family>/iam-actions.txt`), every alarm present,
//! wired to the topic and watching the right thing, and a dashboard body that is valid JSON.
//!
//! - [`cfn`]: the YAML, short-form tags (`!Ref`, `!Sub`, `!GetAtt`, ...) turned into their
//!   long JSON form, and a small evaluator of the intrinsic functions the template uses.
//! - [`iam`]: the per-function action lists, the grants of a role, and the AWS SDK calls found
//!   in `shared/src`.

pub mod cfn;
pub mod iam;

use std::path::PathBuf;

/// The repository root (this crate lives in `tools/template-check`).
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(|tools| tools.parent())
        .map(PathBuf::from)
        .unwrap_or(manifest)
}

/// The four function families: their binaries, `functions/<family>`, and the `Family`
/// dimension of their metrics.
pub const FAMILIES: [&str; 4] = ["contact", "consent", "loyalty", "promotion"];

/// `contact` -> `Contact`, the prefix of the family's logical ids in the template.
pub fn logical_prefix(family: &str) -> String {
    let mut chars = family.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
