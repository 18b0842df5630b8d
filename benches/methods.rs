//! Every aggregation method of the registry on generated binary data (`crowdagg::generate`):
//! 10⁴ and 10⁵ responses, crowd-kit's default parameters (each method's own stop rule), gold
//! for the methods that need it (every tenth task), skills for those that use them.
//! Throughput is in responses, so criterion's "elem/s" compares methods per response.
//!
//! `cargo bench --bench methods` (small sample sizes: the machine has 2 cores); one method:
//! `cargo bench --bench methods -- 'methods/ds/'`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crowdagg::generate::{GeneratorConfig, generate};
use crowdagg::methods::METHODS;
use crowdagg::{FitInputs, Gold, Skills};

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

criterion_group!(benches, methods);
criterion_main!(benches);
