//! Ingestion: responses read and interned from a CSV file, from a Parquet file (feature
//! `parquet`), and from Arrow arrays in memory (feature `arrow`: `ArrowEncoder::push` then
//! `finish`, or `factorize` as the Python package's Arrow path calls it). 10⁶ generated binary
//! responses (250,000 tasks, 4,000 workers); the files hold the rows grouped by task, as
//! exports do, the Arrow arrays hold them shuffled. Throughput is in responses.
//!
//! `cargo bench --all-features --bench readers` (criterion's smallest sample size: the
//! machine has 2 cores). BENCHMARKS.md compares the readers with pyarrow and pandas on the
//! same files (`scripts/ingest_bench.sh`).

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crowdagg::Responses;
use crowdagg::generate::{GeneratorConfig, generate};
use crowdagg::io::{ReadOptions, read_responses};
use crowdagg::output::write_responses_csv;

const RESPONSES: usize = 1_000_000;

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("crowdagg-bench-{}-{name}", std::process::id()))
}

fn responses() -> Responses {
    let config = GeneratorConfig::new(RESPONSES / 4, 4_000, 2).seed(1);
    generate(&config).expect("valid generator config").responses
}

fn readers(c: &mut Criterion) {
    let data = responses();
    let mut group = c.benchmark_group("readers");
    group.sample_size(10);
    group.throughput(Throughput::Elements(data.n_responses() as u64));
    let options = ReadOptions::default();

    let csv = scratch("responses.csv");
    let file = std::fs::File::create(&csv).expect("temporary file");
    write_responses_csv(std::io::BufWriter::new(file), &data, b',').expect("write CSV");
    group.bench_function("csv", |b| {
        b.iter(|| read_responses(&csv, &options).expect("read CSV"))
    });
    let _ = std::fs::remove_file(&csv);

    #[cfg(feature = "parquet")]
    {
        let parquet = scratch("responses.parquet");
        let file = std::fs::File::create(&parquet).expect("temporary file");
        crowdagg::output::write_responses_parquet(file, &data).expect("write Parquet");
        group.bench_function("parquet", |b| {
            b.iter(|| read_responses(&parquet, &options).expect("read Parquet"))
        });
        let _ = std::fs::remove_file(&parquet);
    }

    #[cfg(feature = "arrow")]
    arrow::bench(&mut group, &data);
    group.finish();
}

#[cfg(feature = "arrow")]
mod arrow {
    use arrow_array::{Int64Array, StringArray};
    use criterion::BenchmarkGroup;
    use criterion::measurement::WallTime;
    use crowdagg::Responses;
    use crowdagg::io::{ArrowEncoder, NameOrder};

    /// Shuffled rows as a string task column, an integer worker column and a string label
    /// column.
    pub fn bench(group: &mut BenchmarkGroup<'_, WallTime>, data: &Responses) {
        let mut rows: Vec<(usize, usize, usize)> = Vec::with_capacity(data.n_responses());
        for t in 0..data.n_tasks() {
            let (workers, labels) = data.task_responses(t);
            for (&w, &l) in workers.iter().zip(labels) {
                rows.push((t, w as usize, l as usize));
            }
        }
        let mut state = 1u64;
        for i in (1..rows.len()).rev() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            rows.swap(i, (state >> 33) as usize % (i + 1));
        }
        let tasks = StringArray::from_iter_values(rows.iter().map(|r| data.task_name(r.0)));
        let workers = Int64Array::from_iter_values(rows.iter().map(|r| r.1 as i64));
        let labels = StringArray::from_iter_values(rows.iter().map(|r| data.label_name(r.2)));
        let encode = || {
            let mut encoder = ArrowEncoder::new();
            encoder
                .push(&tasks, &workers, &labels)
                .expect("valid arrays");
            encoder
        };
        group.bench_function("arrow-responses", |b| {
            b.iter(|| encode().finish().expect("responses"))
        });
        let orders = [NameOrder::Bytes, NameOrder::Rule, NameOrder::Bytes];
        group.bench_function("arrow-factorize", |b| {
            b.iter(|| encode().factorize(orders).expect("codes"))
        });
    }
}

criterion_group!(benches, readers);
criterion_main!(benches);
