//! Every aggregation method, all families, on one size grid of generated data: 10⁴ and 10⁵
//! responses, crowd-kit's default parameters (each method's own stop rule).
//!
//! - categorical: every method of the registry (`crowdagg::methods::METHODS`, which includes
//!   BinaryRelevance) on `crowdagg::generate` binary data, gold for the methods that need it
//!   (every tenth task; a gold-trained method ignores workers without gold, as `evaluate`),
//!   skills for those that use them; BinaryRelevance on label sets drawn
//!   around the same truth (three classes);
//! - pairwise (`bt`, `noisy-bt`): comparisons of items with hidden scores, the better item
//!   winning with probability 0.8;
//! - texts (`rover`): six-word sentences with one word in five replaced;
//! - embeddings (`closest-to-average`, `rasa`, `hrrasa`, `text-rasa`, `text-hrrasa`):
//!   8-dimensional embeddings around one of three outputs per task;
//! - segmentation (`seg-mv`, `seg-rasa`, `seg-em`): 16×16 masks, a rectangle with 5 % of the
//!   pixels flipped.
//!
//! All inputs are seeded (the generator's seed 1, a SplitMix64 stream here), 4 responses per
//! task on average. Throughput is in responses, so criterion's "elem/s" compares methods per
//! response. Benchmark ids are `methods/<CLI name>/<responses>`.
//!
//! `cargo bench --bench methods` (small sample sizes: the machine has 2 cores); one method:
//! `cargo bench --bench methods -- 'methods/ds/'`; the whole grid once, quickly:
//! `cargo bench --bench methods -- --quick --warm-up-time 1`. `mmsr_many_workers`: M-MSR at
//! 10⁵ responses from 8,710 workers (its sparse covariance and matrix-free sign step).

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use crowdagg::generate::{Generated, GeneratorConfig, generate};
use crowdagg::methods::{
    ClosestToAverageParams, EmbeddingAggregator, HrrasaParams, PairwiseAggregator, RasaParams,
    RoverParams, SegmentationAggregator, SegmentationEmParams, SegmentationMajorityVoteParams,
    SegmentationRasaParams, TextAggregator, TextHrrasaParams, TextRasaParams, find_method,
    single_label_methods,
};
use crowdagg::{
    BradleyTerryParams, EmbeddingResponses, FitInputs, Gold, Mask, MultiLabelResponses,
    NoisyBradleyTerryParams, PairwiseResponses, Params, SegmentationResponses, Skills,
    TextResponses,
};

/// The size grid, in responses (comparisons for the pairwise methods).
const SIZES: [usize; 2] = [10_000, 100_000];

/// SplitMix64: a seeded stream for the inputs the crate has no generator for.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Binary responses from the crate's generator: overlap 3 or 5, one worker per 250 responses.
fn categorical_data(responses: usize) -> Generated {
    let config = GeneratorConfig::new(responses / 4, (responses / 250).max(10), 2).seed(1);
    generate(&config).expect("valid generator config")
}

/// `(task, worker)` of each generated response, with the task's true label.
fn response_keys(responses: usize) -> Vec<(String, String, u16)> {
    let generated = categorical_data(responses);
    let (data, truth) = (&generated.responses, &generated.truth);
    (0..data.n_tasks())
        .flat_map(|t| {
            let (workers, _) = data.task_responses(t);
            workers.iter().map(move |&w| {
                (
                    data.task_name(t).to_string(),
                    data.worker_name(w).to_string(),
                    truth[t],
                )
            })
        })
        .collect()
}

fn categorical(group: &mut BenchmarkGroup<'_, WallTime>, responses: usize) {
    let generated = categorical_data(responses);
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
    for method in single_label_methods() {
        let needs = method.requirements();
        // As `evaluate`: a gold-trained method drops the answers of workers without gold
        // (at 10⁵ responses some workers answer no gold task).
        let params: &[(&str, &str)] = if needs.gold.required() {
            &[("on_missing_skill", "ignore")]
        } else {
            &[]
        };
        let aggregator = method.build(params).expect("valid parameters");
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
    let mut rng = SplitMix(1);
    let classes = ["x", "y", "z"];
    let sets = response_keys(responses)
        .into_iter()
        .map(|(task, worker, truth)| {
            // The true set: class `truth` and, for every other task, `z`; each class of the
            // response flipped with probability 0.2.
            let truth_set = [truth == 0, truth == 1, task.len() % 2 == 0];
            let set: Vec<&str> = classes
                .iter()
                .zip(truth_set)
                .filter(|&(_, member)| member != (rng.unit() < 0.2))
                .map(|(&class, _)| class)
                .collect();
            (task, worker, set)
        });
    let multi = MultiLabelResponses::from_sets(sets).expect("valid label sets");
    let (binary_relevance, _) = find_method("binary-relevance")
        .expect("in the registry")
        .build_label_sets(&[])
        .expect("default parameters");
    group.bench_with_input(
        BenchmarkId::new("binary-relevance", responses),
        &multi,
        |b, data| b.iter(|| binary_relevance.aggregate(data).expect("fit")),
    );
}

/// Benchmarks each named method on `data` (one family: `fit` runs one of them).
fn bench_family<D, M: ?Sized>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    size: usize,
    data: &D,
    methods: &[(&str, Box<M>)],
    fit: impl Fn(&M, &D),
) {
    for (name, method) in methods {
        group.bench_with_input(BenchmarkId::new(*name, size), data, |b, data| {
            b.iter(|| fit(method, data))
        });
    }
}

fn pairwise(group: &mut BenchmarkGroup<'_, WallTime>, comparisons: usize) {
    let mut rng = SplitMix(2);
    let items = (comparisons / 20).max(10);
    let workers = (comparisons / 250).max(10);
    let score: Vec<f64> = (0..items).map(|_| rng.unit()).collect();
    let mut builder = PairwiseResponses::builder();
    for _ in 0..comparisons {
        let left = rng.below(items);
        let right = (left + 1 + rng.below(items - 1)) % items;
        let better = if score[left] >= score[right] {
            left
        } else {
            right
        };
        let worse = left + right - better;
        let winner = if rng.unit() < 0.8 { better } else { worse };
        let (left, right, winner) = (
            format!("i{left}"),
            format!("i{right}"),
            format!("i{winner}"),
        );
        let worker = format!("w{}", rng.below(workers));
        builder
            .push(&worker, &left, &right, &winner)
            .expect("valid comparison");
    }
    let data = builder.build().expect("valid comparisons");
    let methods: [(&str, Box<dyn PairwiseAggregator>); 2] = [
        (
            "bt",
            Box::new(BradleyTerryParams::default().check().expect("defaults")),
        ),
        (
            "noisy-bt",
            Box::new(
                NoisyBradleyTerryParams::default()
                    .check()
                    .expect("defaults"),
            ),
        ),
    ];
    bench_family(group, comparisons, &data, &methods, |method, data| {
        method.fit(data).expect("fit");
    });
}

fn texts(group: &mut BenchmarkGroup<'_, WallTime>, responses: usize) {
    const WORDS: [&str; 12] = [
        "the", "cat", "sat", "on", "a", "mat", "dog", "ran", "in", "park", "big", "red",
    ];
    let mut rng = SplitMix(3);
    let mut builder = TextResponses::builder();
    for (task, worker, _) in response_keys(responses) {
        let seed = task.len() + task.bytes().map(usize::from).sum::<usize>();
        let text: Vec<&str> = (0..6)
            .map(|i| {
                let word = if rng.unit() < 0.2 {
                    rng.below(WORDS.len())
                } else {
                    seed + i
                };
                WORDS[word % WORDS.len()]
            })
            .collect();
        builder
            .push(&task, &worker, &text.join(" "))
            .expect("valid text");
    }
    let data = builder.build();
    let rover = RoverParams::default().check().expect("defaults");
    group.bench_with_input(BenchmarkId::new("rover", responses), &data, |b, data| {
        b.iter(|| rover.fit(data).expect("fit"))
    });
}

fn embeddings(group: &mut BenchmarkGroup<'_, WallTime>, responses: usize) {
    const DIM: usize = 8;
    let mut rng = SplitMix(4);
    let mut builder = EmbeddingResponses::builder();
    for (task, worker, _) in response_keys(responses) {
        let output = rng.below(3);
        let embedding: Vec<f64> = (0..DIM)
            .map(|d| (d == output) as u8 as f64 + 0.2 * (rng.unit() - 0.5))
            .collect();
        builder
            .push(
                &task,
                &worker,
                &format!("{task} output {output}"),
                &embedding,
            )
            .expect("valid embedding");
    }
    let data = builder.build().expect("valid embeddings");
    let methods: [(&str, Box<dyn EmbeddingAggregator>); 5] = [
        (
            "closest-to-average",
            Box::new(ClosestToAverageParams::default().check().expect("defaults")),
        ),
        (
            "rasa",
            Box::new(RasaParams::default().check().expect("defaults")),
        ),
        (
            "hrrasa",
            Box::new(HrrasaParams::default().check().expect("defaults")),
        ),
        (
            "text-rasa",
            Box::new(TextRasaParams::default().check().expect("defaults")),
        ),
        (
            "text-hrrasa",
            Box::new(TextHrrasaParams::default().check().expect("defaults")),
        ),
    ];
    bench_family(group, responses, &data, &methods, |method, data| {
        method.fit(data).expect("fit");
    });
}

fn segmentation(group: &mut BenchmarkGroup<'_, WallTime>, responses: usize) {
    const SIDE: usize = 16;
    let mut rng = SplitMix(5);
    let mut builder = SegmentationResponses::builder();
    for (task, worker, _) in response_keys(responses) {
        // The task's rectangle, from its name; 5 % of the pixels flipped.
        let corner = task.bytes().map(usize::from).sum::<usize>() % (SIDE / 2);
        let pixels: Vec<bool> = (0..SIDE * SIDE)
            .map(|p| {
                let (x, y) = (p % SIDE, p / SIDE);
                let inside = (corner..corner + SIDE / 2).contains(&x) && y >= corner;
                inside != (rng.unit() < 0.05)
            })
            .collect();
        let mask = Mask::from_bools(SIDE, SIDE, pixels).expect("valid mask");
        builder.push(&task, &worker, mask).expect("valid mask row");
    }
    let data = builder.build();
    let methods: [(&str, Box<dyn SegmentationAggregator>); 3] = [
        (
            "seg-mv",
            Box::new(
                SegmentationMajorityVoteParams::default()
                    .check()
                    .expect("defaults"),
            ),
        ),
        (
            "seg-rasa",
            Box::new(SegmentationRasaParams::default().check().expect("defaults")),
        ),
        (
            "seg-em",
            Box::new(SegmentationEmParams::default().check().expect("defaults")),
        ),
    ];
    bench_family(group, responses, &data, &methods, |method, data| {
        method.fit(data).expect("fit");
    });
}

fn methods(c: &mut Criterion) {
    let mut group = c.benchmark_group("methods");
    group.sample_size(10);
    for responses in SIZES {
        group.throughput(Throughput::Elements(responses as u64));
        categorical(&mut group, responses);
        pairwise(&mut group, responses);
        texts(&mut group, responses);
        embeddings(&mut group, responses);
        segmentation(&mut group, responses);
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
