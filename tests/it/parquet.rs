//! Parquet and Arrow input and output (feature `parquet`): the same `Responses` (names, ids,
//! indexes, output bits) as from the CSV of the same data, whatever the column types, row
//! groups or row order; malformed files (`fixtures/bad/parquet_*`, written by
//! `fixtures/bad/parquet_fixtures.py`) each with its located error, through library and CLI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::types::{Int32Type, UInt16Type};
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Float64Array, Int32Array, Int64Array, LargeStringArray,
    RecordBatch, RecordBatchIterator, StringArray,
};
use arrow_schema::{Field, Schema};
use crowdagg::io::{
    ArrowEncoder, NameOrder, ReadOptions, read_parquet, read_record_batches, read_responses,
};
use crowdagg::output::{
    write_csv, write_parquet, write_probas_csv, write_responses_csv, write_responses_parquet,
};
use crowdagg::{Aggregator, DawidSkene, DuplicatePolicy, Responses};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::properties::WriterProperties;

use crate::common::{dataset, fixture, triples};

fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "crowdagg-parquet-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Same names in the same id order, same indexes, same duplicate count.
fn assert_same(a: &Responses, b: &Responses) {
    assert_eq!(
        a.task_names().collect::<Vec<_>>(),
        b.task_names().collect::<Vec<_>>()
    );
    assert_eq!(
        a.worker_names().collect::<Vec<_>>(),
        b.worker_names().collect::<Vec<_>>()
    );
    assert_eq!(a.label_names(), b.label_names());
    assert_eq!(a.by_task(), b.by_task());
    assert_eq!(a.by_worker(), b.by_worker());
    assert_eq!(a.duplicate_count(), b.duplicate_count());
}

/// DS's labels, confidences and probabilities as the CLI writes them (every bit).
fn ds_output(data: &Responses) -> Vec<u8> {
    let result = DawidSkene::default().aggregate(data).unwrap();
    let mut out = Vec::new();
    write_csv(&mut out, data, &result).unwrap();
    write_probas_csv(&mut out, data, &result).unwrap();
    out
}

fn write_batches(path: &Path, batches: &[RecordBatch], properties: Option<WriterProperties>) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batches[0].schema(), properties).unwrap();
    for batch in batches {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

#[test]
fn web_from_parquet_equals_csv_for_every_column_type_and_layout() {
    let csv_path = dataset("web", "responses.csv");
    let from_csv = read_responses(&csv_path, &ReadOptions::default()).unwrap();
    let expected = ds_output(&from_csv);
    let rows = triples(&csv_path);
    let column = |c: usize, reverse: bool| -> Vec<String> {
        let mut values: Vec<String> = rows.iter().map(|r| [&r.0, &r.1, &r.2][c].clone()).collect();
        if reverse {
            values.reverse();
        }
        values
    };
    let strings = |c, r| Arc::new(StringArray::from(column(c, r))) as ArrayRef;
    let large = |c, r| Arc::new(LargeStringArray::from(column(c, r))) as ArrayRef;
    let dictionary = |c, r| {
        let array: DictionaryArray<UInt16Type> = column(c, r).iter().map(String::as_str).collect();
        Arc::new(array) as ArrayRef
    };
    // Web's ids are all integers: also as integer columns.
    let integers = |c, r| {
        let values: Vec<i64> = column(c, r).iter().map(|v| v.parse().unwrap()).collect();
        Arc::new(Int64Array::from(values)) as ArrayRef
    };
    // Integer dictionary values (a pandas Categorical of numbers), in first-use order.
    let integer_dictionary = |c, r| {
        let mut distinct: Vec<i64> = Vec::new();
        let keys: Vec<i32> = column(c, r)
            .iter()
            .map(|v| {
                let v: i64 = v.parse().unwrap();
                let at = distinct.iter().position(|&d| d == v).unwrap_or_else(|| {
                    distinct.push(v);
                    distinct.len() - 1
                });
                at as i32
            })
            .collect();
        let values = Arc::new(Int64Array::from(distinct)) as ArrayRef;
        let array = DictionaryArray::<Int32Type>::try_new(Int32Array::from(keys), values).unwrap();
        Arc::new(array) as ArrayRef
    };
    let plain = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(1000))
        .build();
    let small_groups = WriterProperties::builder()
        .set_max_row_group_row_count(Some(777))
        .build();
    let cases: Vec<(&str, RecordBatch, Option<WriterProperties>)> = vec![
        (
            "strings, dictionary pages",
            batch(vec![
                ("task", strings(0, false)),
                ("worker", strings(1, false)),
                ("label", strings(2, false)),
            ]),
            None,
        ),
        (
            "strings, plain pages, reversed rows",
            batch(vec![
                ("label", strings(2, true)),
                ("worker", strings(1, true)),
                ("task", strings(0, true)),
            ]),
            Some(plain),
        ),
        (
            "large strings and an extra column, small row groups",
            batch(vec![
                ("x", Arc::new(Float64Array::from(vec![0.5; rows.len()]))),
                ("task", large(0, false)),
                ("worker", large(1, false)),
                ("label", large(2, false)),
            ]),
            Some(small_groups),
        ),
        (
            "dictionary arrays",
            batch(vec![
                ("task", dictionary(0, true)),
                ("worker", dictionary(1, true)),
                ("label", dictionary(2, true)),
            ]),
            None,
        ),
        (
            "integers",
            batch(vec![
                ("task", integers(0, true)),
                ("worker", integers(1, true)),
                ("label", integers(2, true)),
            ]),
            None,
        ),
        (
            "integer dictionaries",
            batch(vec![
                ("task", integer_dictionary(0, false)),
                ("worker", integer_dictionary(1, false)),
                ("label", integer_dictionary(2, false)),
            ]),
            None,
        ),
        (
            // Row groups of 100 rows: many windows of row groups decoded in parallel, each
            // group with its own dictionaries, names shared across groups and windows.
            "mixed types, many row groups",
            batch(vec![
                ("task", dictionary(0, true)),
                ("worker", integers(1, true)),
                ("label", large(2, true)),
            ]),
            Some(
                WriterProperties::builder()
                    .set_max_row_group_row_count(Some(100))
                    .build(),
            ),
        ),
    ];
    for (what, batch, properties) in cases {
        // The arrays themselves (the Python package's Arrow path), then through a file.
        let schema = batch.schema();
        let stream = RecordBatchIterator::new([Ok(batch.clone())], schema);
        let data = read_record_batches(stream, "web", &ReadOptions::default()).unwrap();
        assert_same(&data, &from_csv);
        let path = scratch("web.parquet");
        write_batches(&path, std::slice::from_ref(&batch), properties);
        let data = read_responses(&path, &ReadOptions::default()).unwrap();
        assert_same(&data, &from_csv);
        assert_eq!(ds_output(&data), expected, "{what}");
        // On one thread a window is 4 row groups: the many-groups case spans several windows
        // whatever the machine's thread count.
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let data = one.install(|| read_responses(&path, &ReadOptions::default()).unwrap());
        assert_same(&data, &from_csv);
        assert_eq!(ds_output(&data), expected, "{what}, one thread");
    }
}

#[test]
fn convert_round_trips_through_parquet_and_csv() {
    let csv_path = dataset("web", "responses.csv");
    let from_csv = read_responses(&csv_path, &ReadOptions::default()).unwrap();
    let parquet = scratch("web.parquet");
    write_responses_parquet(std::fs::File::create(&parquet).unwrap(), &from_csv).unwrap();
    let back = read_parquet(&parquet, &ReadOptions::default()).unwrap();
    assert_same(&back, &from_csv);
    let csv = scratch("back.csv");
    write_responses_csv(std::fs::File::create(&csv).unwrap(), &back, b',').unwrap();
    assert_same(
        &read_responses(&csv, &ReadOptions::default()).unwrap(),
        &from_csv,
    );

    // The same through the CLI, then aggregate from both: identical output files.
    let exe = env!("CARGO_BIN_EXE_crowdagg");
    let converted = scratch("cli.parquet");
    let status = Command::new(exe)
        .args(["convert", &csv_path, converted.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let outputs: Vec<Vec<u8>> = [csv_path.as_str(), converted.to_str().unwrap()]
        .iter()
        .map(|input| {
            let out = Command::new(exe)
                .args(["aggregate", "--method", "ds", input])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        })
        .collect();
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn results_written_as_parquet_keep_every_bit() {
    let data = read_responses(dataset("web", "responses.csv"), &ReadOptions::default()).unwrap();
    let result = DawidSkene::default().aggregate(&data).unwrap();
    let path = scratch("results.parquet");
    write_parquet(std::fs::File::create(&path).unwrap(), &data, &result).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
        .unwrap()
        .with_batch_size(1 << 20)
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    let table = arrow_select_concat(&batches);
    let names: Vec<&str> = table
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let mut want = vec!["task".to_string(), "label".into(), "confidence".into()];
    want.extend(data.label_names().iter().map(|l| format!("proba_{l}")));
    assert_eq!(names, want);
    let tasks = table
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let labels = table
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let confidence = table
        .column(2)
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    let probabilities = result.probabilities.as_ref().unwrap();
    for t in 0..data.n_tasks() {
        assert_eq!(tasks.value(t), data.task_name(t));
        assert_eq!(labels.value(t), data.label_name(result.labels[t]));
        assert_eq!(
            confidence.value(t).to_bits(),
            result.confidence[t].to_bits()
        );
        for k in 0..data.n_labels() {
            let column = table
                .column(3 + k)
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap();
            assert_eq!(column.value(t).to_bits(), probabilities[[t, k]].to_bits());
        }
    }
}

/// The rows of several batches as one batch (the file is small).
fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
    assert_eq!(batches.len(), 1, "one batch for a small file");
    batches[0].clone()
}

#[test]
fn arrow_encoder_is_independent_of_batches_and_ignores_unused_dictionary_values() {
    let tasks = ["t2", "t1", "t1", "t3"];
    let workers = ["b", "a", "b", "a"];
    let labels = ["y", "x", "y", "x"];
    let whole = Responses::from_triples((0..4).map(|i| (tasks[i], workers[i], labels[i]))).unwrap();
    let mut encoder = ArrowEncoder::new();
    for range in [0..1, 1..4] {
        let t = StringArray::from(tasks[range.clone()].to_vec());
        let w = LargeStringArray::from(workers[range.clone()].to_vec());
        // A dictionary with a value no row uses ("unused"): not a label of the table.
        let values = Arc::new(StringArray::from(vec!["unused", "x", "y"]));
        let keys: Vec<i32> = labels[range]
            .iter()
            .map(|l| if *l == "x" { 1 } else { 2 })
            .collect();
        let l = DictionaryArray::<Int32Type>::try_new(keys.into(), values).unwrap();
        encoder.push(&t, &w, &l).unwrap();
    }
    let data = encoder.finish().unwrap();
    assert_same(&data, &whole);
    assert_eq!(data.label_names(), ["x", "y"]);
}

/// 600,000 rows: more than one part, so `push` encodes them on several threads.
fn long_columns() -> (Vec<String>, Vec<i64>, Vec<String>) {
    let mut state = 7u64;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    (0..600_000)
        .map(|_| {
            let (t, w, l) = (next(90_000), next(3_000) as i64 - 1_500, next(12));
            (format!("{t}"), w, format!("{l}"))
        })
        .fold(
            (vec![], vec![], vec![]),
            |(mut a, mut b, mut c), (t, w, l)| {
                a.push(t);
                b.push(w);
                c.push(l);
                (a, b, c)
            },
        )
}

#[test]
fn arrow_encoder_splits_long_arrays_without_changing_names_ids_or_error_rows() {
    let (tasks, workers, labels) = long_columns();
    let t = StringArray::from(tasks.clone());
    let w = Int64Array::from(workers.clone());
    let l = LargeStringArray::from(labels.clone());
    let mut whole = ArrowEncoder::new();
    whole.push(&t, &w, &l).unwrap();
    // Batches of 50,000 rows are each encoded in one sequential pass.
    let mut batched = ArrowEncoder::new();
    for start in (0..tasks.len()).step_by(50_000) {
        let [bt, bw, bl] = [&t as &dyn Array, &w, &l].map(|a| a.slice(start, 50_000));
        batched.push(bt.as_ref(), bw.as_ref(), bl.as_ref()).unwrap();
    }
    let orders = [NameOrder::Bytes, NameOrder::Rule, NameOrder::Bytes];
    let [ft, fw, fl] = whole.factorize(orders).unwrap();
    assert_eq!(
        [ft.clone(), fw.clone(), fl.clone()],
        batched.factorize(orders).unwrap()
    );
    // pandas.factorize(sort=True), computed independently: sorted distinct values, row codes.
    fn expected<T: Ord + Clone>(values: &[T]) -> (Vec<T>, Vec<u32>) {
        let mut sorted = values.to_vec();
        sorted.sort();
        sorted.dedup();
        let codes = values
            .iter()
            .map(|v| sorted.binary_search(v).unwrap() as u32)
            .collect();
        (sorted, codes)
    }
    let (task_names, task_codes) = expected(&tasks);
    assert_eq!(ft.codes, task_codes);
    assert_eq!(
        ft.names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        task_names
    );
    assert!(
        !ft.numeric,
        "string tasks in byte order although every name is an integer"
    );
    let (worker_values, worker_codes) = expected(&workers);
    assert_eq!(fw.codes, worker_codes);
    let names: Vec<i64> = fw.names.iter().map(|n| n.parse().unwrap()).collect();
    assert_eq!((names, fw.numeric), (worker_values, true));
    assert_eq!(fl.codes, expected(&labels).1);
    // Responses: the same whatever the split, and the same as from triples.
    let (mut a, mut b) = (ArrowEncoder::new(), ArrowEncoder::new());
    a.push(&t, &w, &l).unwrap();
    for (start, len) in [(0, 1), (1, 599_999)] {
        let [bt, bw, bl] = [&t as &dyn Array, &w, &l].map(|x| x.slice(start, len));
        b.push(bt.as_ref(), bw.as_ref(), bl.as_ref()).unwrap();
    }
    let from_triples = Responses::from_triples(
        (0..tasks.len()).map(|i| (tasks[i].clone(), workers[i].to_string(), labels[i].clone())),
    )
    .unwrap();
    let (a, b) = (a.finish().unwrap(), b.finish().unwrap());
    assert_same(&a, &b);
    assert_same(&a, &from_triples);
    // An error row counts from the arrays' first row, in whichever part it falls.
    let mut with_null: Vec<Option<String>> = tasks.into_iter().map(Some).collect();
    with_null[450_123] = None;
    let error = ArrowEncoder::new()
        .push(&StringArray::from(with_null), &w, &l)
        .unwrap_err();
    assert_eq!(error.row, Some(450_123), "{error}");
}

#[test]
fn arrow_errors_name_the_batch_and_row() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("task", arrow_schema::DataType::Utf8, true),
        Field::new("worker", arrow_schema::DataType::Utf8, true),
        Field::new("label", arrow_schema::DataType::Utf8, true),
    ]));
    let make = |t: Vec<Option<&str>>, w: Vec<Option<&str>>, l: Vec<Option<&str>>| {
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(t)),
                Arc::new(StringArray::from(w)),
                Arc::new(StringArray::from(l)),
            ],
        )
    };
    let batches = vec![
        make(vec![Some("t")], vec![Some("w")], vec![Some("a")]),
        make(
            vec![Some("t"), Some("u")],
            vec![Some("w"), Some("v")],
            vec![Some("a"), Some("")],
        ),
    ];
    let reader = RecordBatchIterator::new(batches, schema.clone());
    let err = read_record_batches(reader, "stream", &ReadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "stream:row group 1:row 1: empty name in the label column"
    );
    // An empty stream (schema, no rows) is an empty table, as a header-only CSV.
    let reader = RecordBatchIterator::new(Vec::new(), schema.clone());
    assert!(
        read_record_batches(reader, "stream", &ReadOptions::default())
            .unwrap()
            .is_empty()
    );
    // Duplicates under `reject`: the policy applies as for CSV.
    let batches = vec![make(
        vec![Some("t"), Some("t")],
        vec![Some("w"), Some("w")],
        vec![Some("a"), Some("b")],
    )];
    let reader = RecordBatchIterator::new(batches, schema);
    let options = ReadOptions {
        duplicates: DuplicatePolicy::Reject,
        ..ReadOptions::default()
    };
    let err = read_record_batches(reader, "stream", &options)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("stream: duplicate response"), "{err}");
}

#[test]
fn malformed_parquet_files_are_located_errors() {
    let cases = [
        (
            "parquet_wrong_types.parquet",
            ": column \"task\" has type Float64; expected strings, integers or a dictionary of them",
        ),
        (
            "parquet_null_worker.parquet",
            ":row group 1:row 1: null in the worker column",
        ),
        (
            "parquet_empty.parquet",
            ": no responses (the file is empty)",
        ),
        (
            "parquet_truncated.parquet",
            ": not a readable Parquet file (truncated or not Parquet?): Parquet error: Invalid Parquet file. Corrupt footer",
        ),
    ];
    for (name, message) in cases {
        let path = fixture(&format!("bad/{name}"));
        let expected = format!("{path}{message}");
        let err = read_responses(&path, &ReadOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), expected);
        let out = Command::new(env!("CARGO_BIN_EXE_crowdagg"))
            .args(["aggregate", "--method", "mv", &path])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(out.stdout.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("crowdagg: error: {expected}\n")
        );
    }
    // A column option naming a column the file lacks.
    let options = ReadOptions {
        label_column: "answer".into(),
        ..ReadOptions::default()
    };
    let path = fixture("bad/parquet_null_worker.parquet");
    assert_eq!(
        read_parquet(&path, &options).unwrap_err().to_string(),
        format!("{path}: missing column \"answer\" (columns: task, worker, label)")
    );
}

/// Copies the Parquet file `src` to `dst` with its footer's per-row-group row counts replaced
/// by `rows` (a damaged or hostile footer; the pages are untouched).
fn with_footer_rows(src: &Path, dst: &Path, rows: &[i64]) {
    use parquet::file::metadata::ParquetMetaDataWriter;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let bytes = std::fs::read(src).unwrap();
    let n = bytes.len();
    let footer_len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
    let reader = SerializedFileReader::new(std::fs::File::open(src).unwrap()).unwrap();
    let metadata = reader.metadata().clone();
    assert_eq!(metadata.num_row_groups(), rows.len());
    let groups = metadata
        .row_groups()
        .iter()
        .zip(rows)
        .map(|(g, &r)| g.clone().into_builder().set_num_rows(r).build().unwrap())
        .collect();
    let metadata = metadata.into_builder().set_row_groups(groups).build();
    let mut out = bytes[..n - 8 - footer_len].to_vec();
    ParquetMetaDataWriter::new(&mut out, &metadata)
        .finish()
        .unwrap();
    std::fs::write(dst, out).unwrap();
}

/// Two row groups of 3 rows each.
fn two_groups(path: &Path) {
    let b = batch(vec![
        ("task", Arc::new(StringArray::from(vec!["t1", "t2", "t3"]))),
        (
            "worker",
            Arc::new(StringArray::from(vec!["w1", "w2", "w1"])),
        ),
        ("label", Arc::new(Int64Array::from(vec![1, 2, 1]))),
    ]);
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(3))
        .build();
    write_batches(path, &[b.clone(), b], Some(properties));
}

#[test]
fn a_huge_footer_row_count_is_reserved_not_written() {
    let good = scratch("footer_good.parquet");
    two_groups(&good);
    // A footer claiming 2·10⁸ rows: their room is reserved, not written (before the fix, the
    // reader zeroed 2.4 GB before it decoded a row; at 4·10⁹ that was an out-of-memory kill).
    let bad = scratch("footer_huge.parquet");
    with_footer_rows(&good, &bad, &[3, 200_000_000]);
    assert_eq!(
        read_parquet(&bad, &ReadOptions::default())
            .unwrap_err()
            .to_string(),
        format!(
            "{}:row group 1: decoded 3 rows where the footer says 200000000 (a damaged file?)",
            bad.display()
        )
    );
}

#[test]
fn a_footer_claiming_fewer_rows_than_decoded_is_an_error_with_both_counts() {
    let good = scratch("footer_good_few.parquet");
    two_groups(&good);
    // Row group 1 holds 3 rows; the footer says 2: the first batch already goes past it, and
    // the message counts every row decoded (none of them is written).
    for (claimed, name) in [(2, "footer_fewer.parquet"), (0, "footer_zero.parquet")] {
        let bad = scratch(name);
        with_footer_rows(&good, &bad, &[3, claimed]);
        assert_eq!(
            read_parquet(&bad, &ReadOptions::default())
                .unwrap_err()
                .to_string(),
            format!(
                "{}:row group 1: decoded 3 rows where the footer says {claimed} (a damaged file?)",
                bad.display()
            )
        );
    }
}

/// One row group of `n` rows (tasks t0…, five workers, label 1), with a null worker at row
/// `null_worker_at` if given.
fn one_long_group(path: &Path, n: usize, null_worker_at: Option<usize>) {
    let tasks: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
    let workers: Vec<Option<String>> = (0..n)
        .map(|i| (Some(i) != null_worker_at).then(|| format!("w{}", i % 5)))
        .collect();
    let b = batch(vec![
        ("task", Arc::new(StringArray::from(tasks))),
        ("worker", Arc::new(StringArray::from(workers))),
        ("label", Arc::new(Int64Array::from(vec![1; n]))),
    ]);
    write_batches(path, &[b], None);
}

#[test]
fn a_footer_count_below_a_long_group_counts_every_decoded_batch() {
    // 70,000 rows decode in two batches (the reader's batch is 65,536 rows); the footer's 100
    // is passed by the first, and the message counts both.
    let good = scratch("footer_long.parquet");
    one_long_group(&good, 70_000, None);
    let bad = scratch("footer_long_fewer.parquet");
    with_footer_rows(&good, &bad, &[100]);
    assert_eq!(
        read_parquet(&bad, &ReadOptions::default())
            .unwrap_err()
            .to_string(),
        format!(
            "{}:row group 0: decoded 70000 rows where the footer says 100 (a damaged file?)",
            bad.display()
        )
    );
}

#[test]
fn a_bad_row_in_an_early_batch_is_reported_before_a_wrong_footer_count() {
    // Batches are encoded as they are decoded, so the null in the first batch is found before
    // the group is known to hold fewer rows than its footer says.
    let good = scratch("footer_long_null.parquet");
    one_long_group(&good, 70_000, Some(1));
    let bad = scratch("footer_long_null_more.parquet");
    with_footer_rows(&good, &bad, &[80_000]);
    assert_eq!(
        read_parquet(&bad, &ReadOptions::default())
            .unwrap_err()
            .to_string(),
        format!(
            "{}:row group 0:row 1: null in the worker column",
            bad.display()
        )
    );
}

#[test]
fn negative_footer_row_counts_are_located_errors() {
    let good = scratch("footer_good.parquet");
    two_groups(&good);
    let bad = scratch("footer_negative.parquet");
    with_footer_rows(&good, &bad, &[3, -5]);
    assert_eq!(
        read_parquet(&bad, &ReadOptions::default())
            .unwrap_err()
            .to_string(),
        format!(
            "{}:row group 1: negative row count -5 in the footer (a damaged file?)",
            bad.display()
        )
    );
}

#[test]
fn one_column_for_two_roles_is_an_error() {
    let parquet = scratch("two_roles.parquet");
    two_groups(&parquet);
    for ([task, worker, label], message) in [
        (
            ["task", "worker", "worker"],
            "column \"worker\" is named for two roles (worker and label)",
        ),
        (
            ["task", "task", "label"],
            "column \"task\" is named for two roles (task and worker)",
        ),
        (
            ["label", "worker", "label"],
            "column \"label\" is named for two roles (task and label)",
        ),
    ] {
        let options = ReadOptions {
            task_column: task.into(),
            worker_column: worker.into(),
            label_column: label.into(),
            ..ReadOptions::default()
        };
        let message = format!("{message}; each role needs its own column");
        assert_eq!(
            read_parquet(&parquet, &options).unwrap_err().to_string(),
            format!("{}: {message}", parquet.display())
        );
        let batches =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&parquet).unwrap())
                .unwrap()
                .build()
                .unwrap();
        assert_eq!(
            read_record_batches(batches, "batches", &options)
                .unwrap_err()
                .to_string(),
            format!("batches: {message}")
        );
        // The CSV readers refuse it too (they used to read one field for both roles): the
        // parallel reader on a file and the general reader on a stream.
        let csv = scratch("two_roles.csv");
        std::fs::write(&csv, "task,worker,label\nt1,w1,a\nt1,w2,b\n").unwrap();
        assert_eq!(
            read_responses(&csv, &options).unwrap_err().to_string(),
            format!("{}:1: {message}", csv.display())
        );
        assert_eq!(
            crowdagg::io::read_responses_from(
                &b"task,worker,label\nt1,w1,a\n"[..],
                "s.csv",
                &options
            )
            .unwrap_err()
            .to_string(),
            format!("s.csv:1: {message}")
        );
    }
}
