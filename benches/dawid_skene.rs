//! Dawid-Skene EM sweeps on generated data: 10⁴, 10⁵, 10⁶ responses × K = 2, 5, a fixed number
//! of iterations (tol = 0). Throughput is in responses × iterations, so criterion's "elem/s"
//! is the inverse of the time per response per EM iteration.
//!
//! `cargo bench --bench dawid_skene` (small sample sizes: the machine has 2 cores).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crowdagg::generate::{GeneratorConfig, generate};
use crowdagg::{Aggregator, DawidSkene, Params};

const ITERATIONS: usize = 10;

fn sweeps(c: &mut Criterion) {
    let mut group = c.benchmark_group("dawid_skene");
    group.sample_size(10);
    for responses in [10_000usize, 100_000, 1_000_000] {
        for k in [2usize, 5] {
            // Overlap 3 or 5: 4 responses per task on average; 1 worker per 250 responses.
            let config = GeneratorConfig::new(responses / 4, (responses / 250).max(10), k).seed(1);
            let data = generate(&config).expect("valid generator config").responses;
            let model = DawidSkene::params()
                .n_iter(ITERATIONS)
                .tol(0.0)
                .check()
                .expect("valid");
            // tol = 0 still stops if the ELBO decreases: count the iterations actually run.
            let ran = model.aggregate(&data).expect("fit").report.iterations;
            group.throughput(Throughput::Elements((data.n_responses() * ran) as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("K{k}"), responses),
                &data,
                |b, data| b.iter(|| model.aggregate(data).expect("fit")),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, sweeps);
criterion_main!(benches);
