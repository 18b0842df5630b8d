//! Replays the fuzzers' minimised crash inputs (`fuzz/regressions/<target>/`) and their seed
//! inputs (`fuzz/seeds/<target>/`) through the fuzz entry points, compiled here from the same
//! source files, so that CI checks every crash stays fixed without a fuzzing toolchain.

use std::path::Path;

#[allow(dead_code)]
#[path = "../../fuzz/src/readers.rs"]
mod readers;
#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../../fuzz/src/server.rs"]
mod server;

/// Runs `entry` on every file of `fuzz/{regressions,seeds}/<target>/` except READMEs; returns
/// how many inputs ran.
fn replay(target: &str, entry: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for kind in ["regressions", "seeds"] {
        let Ok(entries) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            if path.file_name().is_some_and(|n| n == "README") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| entry(&bytes));
            assert!(outcome.is_ok(), "{} panics", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn responses_csv() {
    assert!(replay("responses_csv", readers::responses_csv) > 0);
}

#[test]
fn toloka_tsv() {
    assert!(replay("toloka_tsv", readers::toloka_tsv) > 0);
}

#[test]
fn assignments_json() {
    assert!(replay("assignments_json", readers::assignments_json) > 0);
}

#[cfg(feature = "server")]
#[test]
fn server_request() {
    assert!(replay("server_request", server::server_request) > 0);
}
