//! BinaryRelevance: spec §6's example (crowd-kit 1.4.2 output) and the input format.

use std::path::Path;

use crowdagg::{BinaryRelevance, Error, InputError, Kos, MultiLabelResponses};

/// Spec §6 "BinaryRelevance(MajorityVote)": t1 → [x, y], t2 → [z], classes [x, y, z].
const SPEC_EXAMPLE: &str = "task,worker,label
t1,w1,x|y
t1,w2,x
t1,w3,y|z
t2,w1,
t2,w2,z
t2,w3,z|x
";

#[test]
fn spec_example_matches_crowd_kit() {
    let data =
        MultiLabelResponses::read(SPEC_EXAMPLE.as_bytes(), Path::new("spec.csv"), '|').unwrap();
    assert_eq!(data.classes(), ["x", "y", "z"]);
    let result = BinaryRelevance::default().aggregate(&data).unwrap();
    assert_eq!(result.tasks, ["t1", "t2"]);
    assert_eq!(result.class_names(0), ["x", "y"]);
    assert_eq!(result.class_names(1), ["z"]);
    assert_eq!(result.per_class.len(), 3);
}

#[test]
fn from_sets_equals_the_csv_reader() {
    let empty: [&str; 0] = [];
    let rows: Vec<(&str, &str, Vec<&str>)> = vec![
        ("t1", "w1", vec!["y", "x"]),
        ("t1", "w2", vec!["x", "x"]),
        ("t1", "w3", vec!["y", "z"]),
        ("t2", "w1", empty.to_vec()),
        ("t2", "w2", vec!["z"]),
        ("t2", "w3", vec!["z", "x"]),
    ];
    let data = MultiLabelResponses::from_sets(rows).unwrap();
    let result = BinaryRelevance::default().aggregate(&data).unwrap();
    assert_eq!(result.labels, [vec![0, 1], vec![2]]);
}

#[test]
fn numeric_classes_sort_numerically_and_separator_is_configurable() {
    let csv = "worker,task,label\nw1,t,10;2\nw2,t,2\nw3,t,10;9\n";
    let data = MultiLabelResponses::read(csv.as_bytes(), Path::new("n.csv"), ';').unwrap();
    assert_eq!(data.classes(), ["2", "9", "10"]);
    let result = BinaryRelevance::default().aggregate(&data).unwrap();
    // 2: two of three; 10: two of three; 9: one of three.
    assert_eq!(result.class_names(0), ["2", "10"]);
}

#[test]
fn all_empty_sets_give_empty_results() {
    let csv = "task,worker,label\nt1,w1,\nt2,w1,\n";
    let data = MultiLabelResponses::read(csv.as_bytes(), Path::new("e.csv"), '|').unwrap();
    let result = BinaryRelevance::default().aggregate(&data).unwrap();
    assert_eq!(result.labels, [Vec::<usize>::new(), Vec::new()]);
}

#[test]
fn empty_class_inside_a_field_is_located() {
    let csv = "task,worker,label\nt1,w1,x\nt1,w2,x||y\n";
    let err = MultiLabelResponses::read(csv.as_bytes(), Path::new("bad.csv"), '|').unwrap_err();
    assert!(matches!(err, Error::Input(InputError::Syntax { .. })));
    assert_eq!(err.to_string(), "bad.csv:3:3: empty class in \"x||y\"");
    let err =
        MultiLabelResponses::read("task,label\n".as_bytes(), Path::new("h.csv"), '|').unwrap_err();
    assert_eq!(err.to_string(), "h.csv:1: missing column \"worker\"");
}

#[test]
fn inner_aggregator_errors_name_the_class() {
    // KOS needs two labels; class "x" is in every response, so its 0/1 problem has one label.
    let data = MultiLabelResponses::from_sets([("t", "w1", ["x"]), ("t", "w2", ["x"])]).unwrap();
    let err = BinaryRelevance::new(Box::new(Kos::default()))
        .aggregate(&data)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("class \"x\": KOS needs exactly 2 labels"),
        "{err}"
    );
}

#[test]
fn registry_builds_an_inner_method() {
    let br = crowdagg::methods::binary_relevance("wawa", &[]).unwrap();
    assert_eq!(br.inner().name(), "Wawa");
    assert!(crowdagg::methods::binary_relevance("nope", &[]).is_err());
}
