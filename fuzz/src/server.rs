//! The offline Toloka server's request handling (`toloka::server::handle`) on a fresh backend
//! holding the two fixture pools.
//!
//! Input: up to 8 requests separated by a line `===`; each is `METHOD URL` on its first line
//! and the body after it. `{op}` in a URL stands for the id of the last operation created, so
//! that the fuzzer can reach the operation and result endpoints.

use std::path::Path;
use std::sync::OnceLock;

use crowdagg::toloka::server::handle;
use crowdagg::toloka::{ExportedPool, LocalBackend, UserSkill, read_user_skills};

struct Fixtures {
    pools: Vec<ExportedPool>,
    skills: Vec<UserSkill>,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        // Compiled in the fuzz crate (fuzz/) and in the main crate's tests.
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = [
            here.join("fixtures/toloka"),
            here.join("../fixtures/toloka"),
        ]
        .into_iter()
        .find(|p| p.is_dir())
        .expect("fixtures/toloka");
        let load = |name: &str| ExportedPool::load_dir(&root.join(name)).expect("fixture pool");
        Fixtures {
            pools: vec![load("pool-1001"), load("pool-1002")],
            skills: read_user_skills(&root.join("skills-501.csv")).expect("fixture skills"),
        }
    })
}

pub fn server_request(data: &[u8]) {
    let fixtures = fixtures();
    let mut backend = LocalBackend::new().with_skills(fixtures.skills.clone());
    for pool in &fixtures.pools {
        backend = backend.with_pool(pool.clone());
    }
    let text = String::from_utf8_lossy(data);
    let mut last_operation = String::new();
    for request in text.split("\n===\n").take(8) {
        let (head, body) = request.split_once('\n').unwrap_or((request, ""));
        let (method, url) = head.split_once(' ').unwrap_or((head, "/"));
        let url = url.replace("{op}", &last_operation);
        let (status, json) = handle(&backend, method, &url, body.as_bytes());
        assert!((200..600).contains(&status), "status {status}");
        if status >= 400 {
            // Toloka's error body.
            assert!(json["code"].is_string(), "{status}: {json}");
            assert!(json["message"].is_string(), "{status}: {json}");
        } else if let Some(id) = json["id"].as_str()
            && json["status"].is_string()
        {
            last_operation = id.to_owned();
        }
    }
}
