//! `engage-sign resign`, run as a user runs it: fresh events go to the untracked `.local/events`,
//! and no tracked file changes.

use engage_sign::{env_json, now_seconds, parse_env_file, prepare, sign, Options, Secrets};
use engage_testkit::repo_root;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch checkout holding what `resign` reads and the committed events it must not touch.
fn scratch_checkout() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let root = std::env::temp_dir().join(format!("resign-{}-{nanos}", std::process::id()));
    copy_tree(&repo_root().join("events"), &root.join("events"));
    root
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            files.extend(snapshot(&entry.path()));
        } else {
            files.insert(entry.path(), std::fs::read(entry.path()).unwrap());
        }
    }
    files
}

#[test]
fn resign_writes_fresh_events_to_local_and_leaves_tracked_files_alone() {
    let root = scratch_checkout();
    let committed = snapshot(&root.join("events"));
    let signed_after = now_seconds();

    let run = Command::new(env!("CARGO_BIN_EXE_engage-sign"))
        .arg("resign")
        .arg("--root")
        .arg(&root)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");

    assert_eq!(
        snapshot(&root.join("events")),
        committed,
        "resign changed a tracked file under events/"
    );
    let out = root.join(".local/events");
    let file = parse_env_file(&std::fs::read_to_string(root.join("events/local.env")).unwrap());
    let secrets = Secrets::from_file(&file).unwrap();
    let events = snapshot(&out.join("sam"));
    assert_eq!(
        events.len(),
        22,
        "a plaintext and an encrypted event per envelope"
    );
    for (path, bytes) in events {
        let event: Value = serde_json::from_slice(&bytes).unwrap();
        let headers = &event["headers"];
        let body = event["body"].as_str().unwrap();
        let ts: i64 = headers["svix-timestamp"].as_str().unwrap().parse().unwrap();
        assert!(ts >= signed_after, "{} is not signed now", path.display());
        let family = prepare(body, &Options::default()).unwrap().family;
        let expected = sign(
            secrets.signing_secret_for(family).unwrap(),
            headers["svix-id"].as_str().unwrap(),
            ts,
            body,
            false,
        )
        .unwrap();
        assert_eq!(
            headers["svix-signature"].as_str(),
            Some(expected.signature()),
            "{}",
            path.display()
        );
    }
    assert_eq!(
        std::fs::read_to_string(out.join("env.json")).unwrap(),
        env_json(&file).unwrap()
    );
    let _ = std::fs::remove_dir_all(&root);
}
