//! ROVER, TextRASA and TextHRRASA: crowd-kit's own test cases (tests/aggregation/
//! test_rover_aggregation.py, expected values theirs), crowd-kit 1.4.2 runs on seeded generated
//! texts (ROVER texts identical; TextRASA/TextHRRASA texts identical, reliabilities to 1e-9),
//! and bad input. Fixtures: `fixtures/texts/README.md`.

use std::path::Path;

use crowdagg::io::{
    EmbeddingReadOptions, TextReadOptions, read_embeddings, read_texts, read_texts_from,
};
use crowdagg::{
    Detokenizer, EmbeddingAggregator, EmbeddingResponses, OutputSimilarity, Rover, RoverParams,
    TextAggregator, TextHrrasa, TextHrrasaParams, TextRasa, TextResponses, Tokenizer,
};

use crate::common::{fixture, read_rows};
use crate::embeddings::{assert_matches, reference};

fn rover(tokenizer: Tokenizer) -> Rover {
    RoverParams {
        tokenizer,
        detokenizer: Detokenizer::Space,
    }
    .check()
    .unwrap()
}

fn texts(name: &str) -> TextResponses {
    read_texts(
        Path::new(&fixture(&format!("texts/{name}"))),
        &TextReadOptions::default(),
    )
    .unwrap()
}

fn texts_with_embeddings(name: &str) -> EmbeddingResponses {
    read_embeddings(
        Path::new(&fixture(&format!("texts/{name}"))),
        &EmbeddingReadOptions {
            output_column: "text".into(),
            ..EmbeddingReadOptions::default()
        },
    )
    .unwrap()
}

// ---- crowd-kit's tests (tests/aggregation/test_rover_aggregation.py), expected values theirs ----

#[test]
fn crowd_kit_test_rover_aggregation() {
    let data = TextResponses::from_rows([
        ("t1", "w1", "a b c d"),
        ("t1", "w2", "b z d e"),
        ("t1", "w3", "b c d e f"),
    ])
    .unwrap();
    // crowd-kit's test tokenises with split(" "); whitespace gives the same here.
    for tokenizer in [Tokenizer::Space, Tokenizer::Whitespace] {
        assert_eq!(rover(tokenizer).fit(&data).unwrap().texts, ["b c d e"]);
    }
}

#[test]
fn crowd_kit_test_rover_single_overlap() {
    let data = TextResponses::from_rows([("t1", "w1", "a b c d")]).unwrap();
    assert_eq!(
        rover(Tokenizer::Space).fit(&data).unwrap().texts,
        ["a b c d"]
    );
}

#[test]
fn crowd_kit_test_rover_simple_text() {
    let data = texts("simple_text.csv");
    let fit = rover(Tokenizer::Space).fit(&data).unwrap();
    let expected = read_rows(&fixture("texts/expected_rover.csv"));
    assert_eq!(expected.len(), data.n_tasks());
    for row in expected {
        let t = data.task_id(&row[0]).unwrap();
        assert_eq!(fit.texts[t], row[1], "{}", row[0]);
    }
}

// ---- crowd-kit 1.4.2 on generated texts (fixtures/embeddings/crowdkit.json) ----

#[test]
fn rover_texts_equal_crowd_kit_on_generated_texts() {
    let data = texts("generated.csv");
    let reference = reference();
    for (run, tokenizer) in [
        ("rover_whitespace", Tokenizer::Whitespace),
        ("rover_space", Tokenizer::Space),
    ] {
        let fit = rover(tokenizer).fit(&data).unwrap();
        let want = reference[run].as_object().unwrap();
        assert_eq!(want.len(), data.n_tasks());
        for (t, task) in data.task_names().enumerate() {
            assert_eq!(fit.texts[t], want[task].as_str().unwrap(), "{run} {task}");
        }
    }
    // The two tokenisers do differ on these texts (doubled and edge spaces).
    assert_ne!(reference["rover_whitespace"], reference["rover_space"]);
}

#[test]
fn text_rasa_and_text_hrrasa_equal_crowd_kit_on_generated_texts() {
    let data = texts_with_embeddings("generated.csv");
    let reference = reference();
    let rasa = TextRasa::default().fit(&data).unwrap();
    assert_matches("text_rasa", &data, &rasa);
    let hrrasa = TextHrrasaParams {
        output_similarity: OutputSimilarity::CrowdKit,
        ..TextHrrasa::params()
    }
    .check()
    .unwrap()
    .fit(&data)
    .unwrap();
    assert_matches("text_hrrasa", &data, &hrrasa);
    for (run, fit) in [("text_rasa", &rasa), ("text_hrrasa", &hrrasa)] {
        for (t, task) in data.task_names().enumerate() {
            assert_eq!(
                fit.output(&data, t),
                reference[run]["texts"][task],
                "{task}"
            );
        }
    }
}

#[test]
fn character_tokens_round_trip() {
    let data = TextResponses::from_rows([
        ("t", "w1", "kitten"),
        ("t", "w2", "sitting"),
        ("t", "w3", "kitting"),
    ])
    .unwrap();
    let fit = RoverParams {
        tokenizer: Tokenizer::Chars,
        detokenizer: Detokenizer::Concat,
    }
    .check()
    .unwrap()
    .fit(&data)
    .unwrap();
    assert_eq!(fit.texts, ["kitting"]);
    assert_eq!(Tokenizer::Whitespace.tokens(" a\t b "), ["a", "b"]);
    assert_eq!(Tokenizer::Space.tokens(" a  b"), ["", "a", "", "b"]);
}

/// xorshift64.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn malformed_input_never_panics() {
    let mut rng = Rng(29);
    let tokens: [&[u8]; 12] = [
        b"t1",
        b"t2",
        b"w1",
        b"w2",
        b"a b",
        b"",
        b"  a  ",
        b"\"x,y\"",
        b"\xff",
        b"\"open",
        b"\xc3\xa9 b",
        b"a",
    ];
    let mut parsed = 0;
    for case in 0..3000 {
        let mut bytes: Vec<u8> = if case % 10 == 0 {
            Vec::new()
        } else {
            b"task,worker,text\n".to_vec()
        };
        for _ in 0..rng.below(7) {
            let fields = 2 + rng.below(3);
            for f in 0..fields {
                if f > 0 {
                    bytes.push(b',');
                }
                let t = if f < 2 && rng.below(10) < 9 {
                    rng.below(4)
                } else {
                    rng.below(tokens.len())
                };
                bytes.extend_from_slice(tokens[t]);
            }
            bytes.extend_from_slice(if rng.below(2) == 0 { b"\n" } else { b"\r\n" });
        }
        if let Ok(data) = read_texts_from(&bytes[..], "x.csv", &TextReadOptions::default()) {
            for tokenizer in [Tokenizer::Whitespace, Tokenizer::Space, Tokenizer::Chars] {
                let fit = rover(tokenizer).fit(&data).unwrap();
                assert_eq!(fit.texts.len(), data.n_tasks());
            }
            parsed += 1;
        }
    }
    assert!(parsed > 50, "{parsed}");
}

/// An observer stops ROVER after its first block of tasks (1,024 of 2,500): the texts merged
/// so far, equal to the full fit's, and `Interrupted`; a watching observer changes nothing.
#[test]
fn an_observer_stops_rover() {
    use crowdagg::{Action, IterationState, StopReason};

    let words = ["a cat", "the cat", "a dog", "the cat sat"];
    let rows: Vec<(String, String, &str)> = (0..2_500)
        .flat_map(|t| (0..3).map(move |w| (format!("t{t}"), format!("w{w}"), words[(t + w) % 4])))
        .collect();
    let data = TextResponses::from_rows(rows).unwrap();
    let rover = Rover::default();
    let full = rover.fit(&data).unwrap();
    assert_eq!(full.texts.len(), 2_500);
    let stop = |state: &IterationState| {
        assert_eq!((state.iteration, state.max_iterations), (1, 3));
        Action::Stop
    };
    let stopped = rover.fit_observed(&data, Some(&stop)).unwrap();
    assert_eq!(stopped.report.stop_reason, StopReason::Interrupted);
    assert_eq!(stopped.texts[..], full.texts[..1024]);
    // A partial fit is refused by the writers, not written as if it were all the tasks.
    let mut out = Vec::new();
    let refused = crowdagg::output::write_texts_csv(&mut out, &data, &stopped).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("results for 1024 of 2500 tasks"),
        "{refused}"
    );
    assert!(out.is_empty());
    crowdagg::output::write_texts_csv(&mut out, &data, &full).unwrap();
    let watch = |_: &IterationState| Action::Continue;
    assert_eq!(rover.fit_observed(&data, Some(&watch)).unwrap(), full);
}
