//! Every aggregation method of the registry on generated binary data (`crowdagg::generate`):
//! 10⁴ and 10⁵ responses, crowd-kit's default parameters (each method's own stop rule), gold
//! for the methods that need it (every tenth task), skills for those that use them.
//! Throughput is in responses, so criterion's "elem/s" compares methods per response.
//!
//! `cargo bench --bench methods` (small sample sizes: the machine has 2 cores); one method:
//! `cargo bench --bench methods -- 'methods/ds/'`. `mmsr_many_workers`: M-MSR at 10⁵
//! responses from 8,710 workers (its sparse covariance and matrix-free sign step).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crowdagg::generate::{GeneratorConfig, generate};
use crowdagg::methods::METHODS;
use crowdagg::{FitInputs, Gold, Params, Skills};

fn methods(c: &mut Criterion) {
    let mut group = c.benchmark_group("methods");
    group.sample_size(10);
    for responses in [10_000usize, 100_000] {
        // Overlap 3 or 5: 4 responses per task on average; 1 worker per 250 responses.
        let config = GeneratorConfig::new(responses / 4, (responses / 250).max(10), 2).seed(1);
        let generated = generate(&config).expect("valid generator config");
        let data = &generated.responses;
        let gold: Gold = (0..data.n_tasks())
            .step_by(10)
            .map(|t| {
                (
                    data.task_name(t),
                    data.label_name(generated.truth[t] as usize),
                )
            })
            .collect();
        let skills: Skills = (0..data.n_workers())
            .map(|w| (data.worker_name(w), 50.0 + (w % 50) as f64))
            .collect();
        group.throughput(Throughput::Elements(data.n_responses() as u64));
        for method in METHODS {
            let aggregator = method.build(&[]).expect("default parameters");
            let needs = method.requirements();
            let mut inputs = FitInputs::default();
            if needs.gold.required() {
                inputs = inputs.gold(&gold);
            }
            if needs.skills.accepted() {
                inputs = inputs.skills(&skills);
            }
            group.bench_with_input(
                BenchmarkId::new(method.cli_name, responses),
                data,
                |b, data| b.iter(|| aggregator.fit_checked(data, inputs).expect("fit")),
            );
        }
    }
    group.finish();
}

/// M-MSR with many workers: 10⁵ responses from 8,710 workers (a pool of 10,000, overlap 10),
/// where the dense version held ≈ 40·W² = 3 GB; sparse covariance and matrix-free sign step.
/// 20 iterations
/// (the set is sparse enough that crowd-kit's rule would run all 10,000).
fn mmsr_many_workers(c: &mut Criterion) {
    let mut group = c.benchmark_group("mmsr_many_workers");
    group.sample_size(10);
    let config = GeneratorConfig::new(10_000, 10_000, 2)
        .overlap(vec![10])
        .seed(1);
    let data = generate(&config).expect("valid generator config").responses;
    let mmsr = crowdagg::Mmsr::params()
        .n_iter(20)
        .check()
        .expect("valid parameters");
    group.throughput(Throughput::Elements(data.n_responses() as u64));
    group.bench_function(BenchmarkId::new("mmsr", data.n_workers()), |b| {
        b.iter(|| crowdagg::Aggregator::aggregate(&mmsr, &data).expect("fit"))
    });
    group.finish();
}

criterion_group!(benches, methods, mmsr_many_workers);
criterion_main!(benches);
