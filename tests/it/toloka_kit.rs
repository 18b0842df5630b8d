//! The official Python client (toloka-kit 1.2.3, from the pinned reference environment) against
//! `crowdagg serve` on 127.0.0.1: `tests/toloka_kit.sh` starts the server, runs
//! `tests/toloka_kit_client.py` and checks every answer against the spec's worked examples.
//! The first run creates the reference venv with `scripts/reference-env.sh` (under the target
//! directory; needs Python >= 3.10 and the package registry).
// (gated in main.rs: cfg(feature = "server"))

use std::process::Command;

#[test]
fn toloka_kit_session_against_the_offline_server() {
    let root = env!("CARGO_MANIFEST_DIR");
    let output = Command::new("bash")
        .arg("tests/toloka_kit.sh")
        .env("CROWDAGG", env!("CARGO_BIN_EXE_crowdagg"))
        .current_dir(root)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "toloka-kit session failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("toloka-kit session OK"));
    assert!(stdout.contains("t-0003 {'result': 'BAD'} 0.96214"));
}
