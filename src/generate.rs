//! Seeded synthetic crowd data from the Dawid-Skene generative model, for tests and benchmarks.
//!
//! The model is that of `gen_crowd.py` (the project's Python generator); the random stream is
//! not Python's, so the same seed gives different (but equally distributed) data.
//!
//! * **Truth:** y_t ~ Categorical(p) with p_k ∝ `prior_ratio`^k (K = 2: 0.556/0.444).
//! * **Workers:** each gets a type, independently, with probabilities `frac_good`,
//!   `frac_spam`, `frac_adv` and the rest "biased", and a K×K confusion matrix
//!   `C_w[true][observed]` (rows sum to 1):
//!   * good: diagonal ~ U(0.70, 0.95), the rest of each row split by a Dirichlet(1, …, 1) draw;
//!   * spammer: every row uniform;
//!   * adversarial: m ~ U(0.6, 0.9) on the label after the true one (cyclically; K = 2: a
//!     flip), (1 − m)/(K − 1) on each other label including the true one;
//!   * biased: a favourite label f ~ U{0..K} gets b ~ U(0.5, 0.8) in every row; of the rest
//!     1 − b, the true label gets a share c ~ U(0.5, 0.9) and the other labels split the remainder.
//! * **Activity:** worker weights 1/rank^`zipf` with the ranks a random permutation of 1..=W.
//! * **Assignment:** each task gets an overlap drawn uniformly from `overlap`, then that many
//!   distinct workers drawn by weight (a repeated worker is redrawn).
//! * **Labels:** the observed label of a response is drawn from `C_w[y_t][·]`.
//!
//! Names are `t<i>`, `w<i>` zero-padded to a common width (so that byte order is numeric
//! order) and labels `0`..`K-1`. Workers that drew no task are absent from the responses.
//! The PRNG is xoshiro256** seeded through SplitMix64.
//!
//! ```
//! use crowdagg::generate::{generate, GeneratorConfig};
//! let data = generate(&GeneratorConfig::new(100, 10, 3).seed(1))?;
//! assert_eq!(data.responses.n_tasks(), 100);
//! assert_eq!(data.truth.len(), 100);
//! # Ok::<(), crowdagg::Error>(())
//! ```

use crate::error::ParamsError;
use crate::names::decimal_len;
use crate::responses::{Label, Responses};

/// Parameters of the generator (defaults as `gen_crowd.py`).
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorConfig {
    /// Number of tasks T (1..2³²; T × the largest overlap must stay below 2³²).
    pub tasks: usize,
    /// Number of workers W (at least the largest overlap); those who draw no task are absent.
    pub workers: usize,
    /// Number of classes K (2..=65535); labels are `0`..`K-1`.
    pub classes: usize,
    /// Overlaps drawn uniformly per task.
    pub overlap: Vec<usize>,
    /// Seed of the random stream: the same configuration and seed give the same data.
    pub seed: u64,
    /// Exponent of the Zipf activity weights 1/rank^`zipf` (≥ 0; 0: every worker equally active).
    pub zipf: f64,
    /// Ratio of successive class priors, p_k ∝ `prior_ratio`^k (≥ 0; 1: uniform).
    pub prior_ratio: f64,
    /// Share of good workers (≥ 0). The four type weights (good, spam, adversarial and
    /// biased = max(0, 1 − the three others)) are normalised, so they need not sum to 1.
    pub frac_good: f64,
    /// Share of spammers (≥ 0); see `frac_good`.
    pub frac_spam: f64,
    /// Share of adversarial workers (≥ 0); see `frac_good`.
    pub frac_adv: f64,
}

impl GeneratorConfig {
    /// `tasks` tasks, `workers` workers and `classes` classes, other parameters at their
    /// defaults (overlap 3 or 5, seed 0, zipf 1, prior ratio 0.8, 75 % good, 15 % spammers,
    /// 5 % adversarial). Checked by [`generate`].
    pub fn new(tasks: usize, workers: usize, classes: usize) -> Self {
        Self {
            tasks,
            workers,
            classes,
            overlap: vec![3, 5],
            seed: 0,
            zipf: 1.0,
            prior_ratio: 0.8,
            frac_good: 0.75,
            frac_spam: 0.15,
            frac_adv: 0.05,
        }
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the overlaps a task's number of workers is drawn from (each ≥ 1, uniformly).
    pub fn overlap(mut self, overlap: Vec<usize>) -> Self {
        self.overlap = overlap;
        self
    }

    /// Validates the sizes and rates ([`generate`] and [`write_csv`] do it too): lets a caller
    /// refuse a bad config before it opens any output.
    pub fn check(&self) -> Result<(), ParamsError> {
        let bad =
            |name, rule: &'static str, value: String| ParamsError::OutOfRange { name, rule, value };
        if self.tasks == 0 || self.tasks > u32::MAX as usize {
            return Err(bad(
                "tasks",
                "between 1 and 2^32 - 1",
                self.tasks.to_string(),
            ));
        }
        if !(2..=Label::MAX as usize).contains(&self.classes) {
            return Err(bad(
                "classes",
                "between 2 and 65535",
                self.classes.to_string(),
            ));
        }
        let max_overlap = self.overlap.iter().copied().max().unwrap_or(0);
        if self.overlap.contains(&0) || max_overlap == 0 {
            return Err(bad(
                "overlap",
                "a non-empty list of numbers >= 1",
                format!("{:?}", self.overlap),
            ));
        }
        if self.workers < max_overlap || self.workers > u32::MAX as usize {
            return Err(bad(
                "workers",
                "at least the largest overlap",
                self.workers.to_string(),
            ));
        }
        if (self.tasks as u64) * (max_overlap as u64) > u32::MAX as u64 {
            return Err(bad(
                "tasks",
                "such that tasks × overlap < 2^32",
                self.tasks.to_string(),
            ));
        }
        for (name, v) in [
            ("zipf", self.zipf),
            ("prior_ratio", self.prior_ratio),
            ("frac_good", self.frac_good),
            ("frac_spam", self.frac_spam),
            ("frac_adv", self.frac_adv),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(name, "a finite number >= 0", v.to_string()));
            }
        }
        Ok(())
    }
}

/// The kind of confusion matrix a generated worker has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkerType {
    /// Mostly right: a diagonal of 0.70–0.95.
    Good,
    /// Answers uniformly at random whatever the truth.
    Spammer,
    /// Mostly gives the label after the true one (cyclically; with K = 2, the other label).
    Adversarial,
    /// Favours one label whatever the truth.
    Biased,
}

/// Generated responses with the ground truth.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The responses, names in canonical order (`t…`, `w…`, labels `0`..`K-1`).
    pub responses: Responses,
    /// True label per task id of `responses`.
    pub truth: Vec<Label>,
    /// Type per worker id of `responses`.
    pub worker_types: Vec<WorkerType>,
}

/// Generates a data set; see the module documentation for the model.
pub fn generate(config: &GeneratorConfig) -> Result<Generated, crate::Error> {
    let mut offsets = Vec::with_capacity(config.tasks + 1);
    offsets.push(0u32);
    let mean_overlap = config.overlap.iter().sum::<usize>() / config.overlap.len().max(1) + 1;
    let mut workers = Vec::with_capacity(config.tasks * mean_overlap);
    let mut labels = Vec::with_capacity(workers.capacity());
    let model = Model::draw(config)?.for_each_task(config, |_, task_workers, task_labels| {
        workers.extend_from_slice(task_workers);
        labels.extend_from_slice(task_labels);
        offsets.push(workers.len() as u32);
        Ok::<(), std::convert::Infallible>(())
    });
    let Ok(model) = model;
    let w_count = config.workers;

    // Compact worker ids to the workers that answered (order, hence canonical order, kept).
    let mut new_id = vec![u32::MAX; w_count];
    for &w in &workers {
        new_id[w as usize] = 0;
    }
    let mut used = Vec::new();
    for (w, id) in new_id.iter_mut().enumerate() {
        if *id == 0 {
            *id = used.len() as u32;
            used.push(w);
        }
    }
    workers.iter_mut().for_each(|w| *w = new_id[*w as usize]);

    let names = Names::new(config);
    let responses = Responses::from_canonical_task_rows(
        (0..config.tasks).map(|t| names.task(t)),
        used.iter().map(|&w| names.worker(w)),
        (0..config.classes).map(|c| c.to_string()),
        offsets,
        workers,
        labels,
    )?;
    Ok(Generated {
        responses,
        worker_types: used.iter().map(|&w| model.types[w]).collect(),
        truth: model.truth,
    })
}

/// Writes a generated data set as CSV (`task,worker,label`, rows grouped by task in task
/// order, the workers of a task in the order they were drawn) without holding the responses
/// in memory, and optionally the true labels (`task,label`). Same data as [`generate`] with
/// the same config. `on_task(t)` is called after each task (for progress reports).
pub fn write_csv(
    config: &GeneratorConfig,
    out: &mut dyn std::io::Write,
    gold: Option<&mut dyn std::io::Write>,
    mut on_task: impl FnMut(usize),
) -> Result<(), crate::Error> {
    let io = |e: std::io::Error| {
        crate::Error::from(crate::error::InputError::Io {
            path: "<output>".into(),
            source: e,
        })
    };
    let names = Names::new(config);
    let mut line = Vec::with_capacity(1 << 16);
    out.write_all(b"task,worker,label\n").map_err(io)?;
    let mut task = Vec::new();
    let model = Model::draw(config)?
        .for_each_task(config, |t, workers, labels| {
            task.clear();
            names.write_task(&mut task, t);
            for (&w, &y) in workers.iter().zip(labels) {
                line.extend_from_slice(&task);
                line.push(b',');
                names.write_worker(&mut line, w as usize);
                line.push(b',');
                push_decimal(&mut line, y as u64, 1);
                line.push(b'\n');
            }
            if line.len() >= (1 << 16) - 256 {
                out.write_all(&line)?;
                line.clear();
            }
            on_task(t);
            Ok(())
        })
        .map_err(io)?;
    out.write_all(&line).map_err(io)?;
    if let Some(gold) = gold {
        line.clear();
        line.extend_from_slice(b"task,label\n");
        for (t, &y) in model.truth.iter().enumerate() {
            names.write_task(&mut line, t);
            line.push(b',');
            push_decimal(&mut line, y as u64, 1);
            line.push(b'\n');
            if line.len() >= 1 << 16 {
                gold.write_all(&line).map_err(io)?;
                line.clear();
            }
        }
        gold.write_all(&line).map_err(io)?;
    }
    Ok(())
}

/// Zero-padded task and worker names (`t<i>`, `w<i>`), so that byte order is numeric order.
struct Names {
    task_width: usize,
    worker_width: usize,
}

impl Names {
    fn new(config: &GeneratorConfig) -> Self {
        Self {
            task_width: decimal_len(config.tasks.saturating_sub(1)),
            worker_width: decimal_len(config.workers.saturating_sub(1)),
        }
    }

    fn task(&self, t: usize) -> String {
        format!("t{t:0w$}", w = self.task_width)
    }

    fn worker(&self, w: usize) -> String {
        format!("w{w:0width$}", width = self.worker_width)
    }

    fn write_task(&self, out: &mut Vec<u8>, t: usize) {
        out.push(b't');
        push_decimal(out, t as u64, self.task_width);
    }

    fn write_worker(&self, out: &mut Vec<u8>, w: usize) {
        out.push(b'w');
        push_decimal(out, w as u64, self.worker_width);
    }
}

/// Appends `value` in decimal, left-padded with zeros to `width` digits.
fn push_decimal(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    while value > 0 {
        i -= 1;
        digits[i] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    let start = (digits.len() - width.min(20)).min(i);
    out.extend_from_slice(&digits[start..]);
}

/// The drawn parameters of a data set: truth, worker types and confusion rows, activity.
struct Model {
    truth: Vec<Label>,
    types: Vec<WorkerType>,
    /// Cumulative confusion rows, [worker][true][observed].
    cumulative: Vec<f64>,
    /// Cumulative, normalised worker activity.
    activity: Vec<f64>,
    rng: Xoshiro256,
}

impl Model {
    fn draw(config: &GeneratorConfig) -> Result<Self, ParamsError> {
        config.check()?;
        let (t_count, w_count, k) = (config.tasks, config.workers, config.classes);
        let mut rng = Xoshiro256::new(config.seed);

        let mut priors: Vec<f64> = (0..k).map(|i| config.prior_ratio.powi(i as i32)).collect();
        normalise(&mut priors);
        let truth: Vec<Label> = (0..t_count)
            .map(|_| rng.categorical(&priors) as Label)
            .collect();

        let mut type_probs = [
            config.frac_good,
            config.frac_spam,
            config.frac_adv,
            (1.0 - config.frac_good - config.frac_spam - config.frac_adv).max(0.0),
        ];
        normalise(&mut type_probs);
        let types: Vec<WorkerType> = (0..w_count)
            .map(|_| match rng.categorical(&type_probs) {
                0 => WorkerType::Good,
                1 => WorkerType::Spammer,
                2 => WorkerType::Adversarial,
                _ => WorkerType::Biased,
            })
            .collect();
        let mut cumulative = vec![0.0; w_count * k * k];
        for (w, &kind) in types.iter().enumerate() {
            let matrix = &mut cumulative[w * k * k..(w + 1) * k * k];
            confusion(&mut rng, kind, k, matrix);
            for row in matrix.chunks_exact_mut(k) {
                normalise(row);
                for c in 1..k {
                    row[c] += row[c - 1];
                }
            }
        }

        // Zipf activity with randomly permuted ranks.
        let mut ranks: Vec<usize> = (1..=w_count).collect();
        rng.shuffle(&mut ranks);
        let mut activity: Vec<f64> = ranks
            .iter()
            .map(|&r| (r as f64).powf(-config.zipf))
            .collect();
        for i in 1..w_count {
            activity[i] += activity[i - 1];
        }
        let total = activity[w_count - 1];
        activity.iter_mut().for_each(|v| *v /= total);
        Ok(Self {
            truth,
            types,
            cumulative,
            activity,
            rng,
        })
    }

    /// Draws the responses task by task: `emit(task, workers, labels)` with the original
    /// worker ids (0..config.workers).
    fn for_each_task<E>(
        mut self,
        config: &GeneratorConfig,
        mut emit: impl FnMut(usize, &[u32], &[Label]) -> Result<(), E>,
    ) -> Result<Self, E> {
        let (w_count, k) = (config.workers, config.classes);
        let max_overlap = config.overlap.iter().copied().max().unwrap_or(0);
        let mut workers: Vec<u32> = Vec::with_capacity(max_overlap);
        let mut labels: Vec<Label> = Vec::with_capacity(max_overlap);
        // Which workers the current task has drawn: O(1) per draw instead of a scan of the
        // task's workers (the same draws, hence the same data, in O(overlap) per task).
        let mut drawn = vec![false; w_count];
        let Self {
            truth,
            cumulative,
            activity,
            rng,
            ..
        } = &mut self;
        for (t, &y) in truth.iter().enumerate() {
            let overlap = config.overlap[rng.below(config.overlap.len())];
            for &w in &workers {
                drawn[w as usize] = false;
            }
            workers.clear();
            labels.clear();
            while workers.len() < overlap {
                // One uniform per draw (inverse CDF); drawing one per comparison of the
                // binary search, as this once did, skews the activity away from Zipf.
                let u = rng.uniform();
                let w = activity.partition_point(|&c| c <= u).min(w_count - 1) as u32;
                if !drawn[w as usize] {
                    drawn[w as usize] = true;
                    workers.push(w);
                }
            }
            for &w in &workers {
                let row = &cumulative[(w as usize * k + y as usize) * k..][..k];
                let u = rng.uniform();
                labels.push(row.partition_point(|&c| c <= u).min(k - 1) as Label);
            }
            emit(t, &workers, &labels)?;
        }
        Ok(self)
    }
}

/// An unnormalised confusion matrix [true][observed] of a worker of the given type.
fn confusion(rng: &mut Xoshiro256, kind: WorkerType, k: usize, matrix: &mut [f64]) {
    match kind {
        WorkerType::Good => {
            let accuracy = 0.70 + 0.25 * rng.uniform();
            for y in 0..k {
                let row = &mut matrix[y * k..(y + 1) * k];
                // Dirichlet(1, …, 1) over the K − 1 wrong labels: normalised exponentials.
                for (c, v) in row.iter_mut().enumerate() {
                    *v = if c == y {
                        0.0
                    } else {
                        -(1.0 - rng.uniform()).ln()
                    };
                }
                normalise(row);
                row.iter_mut().for_each(|v| *v *= 1.0 - accuracy);
                row[y] = accuracy;
            }
        }
        WorkerType::Spammer => matrix.fill(1.0 / k as f64),
        WorkerType::Adversarial => {
            let m = 0.6 + 0.3 * rng.uniform();
            for y in 0..k {
                let row = &mut matrix[y * k..(y + 1) * k];
                row.fill((1.0 - m) / (k - 1) as f64);
                row[(y + 1) % k] = m;
            }
        }
        WorkerType::Biased => {
            let favourite = rng.below(k);
            let b = 0.5 + 0.3 * rng.uniform();
            let c = 0.5 + 0.4 * rng.uniform();
            for y in 0..k {
                let row = &mut matrix[y * k..(y + 1) * k];
                row.fill((1.0 - b) * (1.0 - c) / (k - 1) as f64);
                row[y] = (1.0 - b) * c;
                row[favourite] += b;
            }
        }
    }
}

fn normalise(values: &mut [f64]) {
    let sum: f64 = values.iter().sum();
    values.iter_mut().for_each(|v| *v /= sum);
}

/// xoshiro256** (Blackman & Vigna), seeded with SplitMix64.
struct Xoshiro256([u64; 4]);

impl Xoshiro256 {
    fn new(seed: u64) -> Self {
        let mut state = seed;
        let mut split_mix = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self([split_mix(), split_mix(), split_mix(), split_mix()])
    }

    fn next(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..n (multiply-shift; the bias is below 2^-32 for n < 2^32).
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }

    /// An index drawn with the given probabilities (summing to 1).
    fn categorical(&mut self, probabilities: &[f64]) -> usize {
        let u = self.uniform();
        let mut acc = 0.0;
        for (i, &p) in probabilities.iter().enumerate() {
            acc += p;
            if u < acc {
                return i;
            }
        }
        probabilities.len() - 1
    }

    fn shuffle<T>(&mut self, values: &mut [T]) {
        for i in (1..values.len()).rev() {
            values.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_and_shaped() {
        let config = GeneratorConfig::new(2000, 50, 4).seed(3);
        let a = generate(&config).unwrap();
        let b = generate(&config).unwrap();
        assert_eq!(a.responses.by_task(), b.responses.by_task());
        assert_eq!(a.truth, b.truth);
        let data = &a.responses;
        assert_eq!(data.n_tasks(), 2000);
        assert_eq!(data.duplicate_count(), 0);
        for t in 0..data.n_tasks() {
            let n = data.by_task().row(t).0.len();
            assert!(n == 3 || n == 5);
        }
        assert_eq!(data.label_names(), ["0", "1", "2", "3"]);
        assert_eq!(data.task_name(7), "t0007");
        // Priors 0.8^k normalised: label 0 has 0.339 of the tasks; good workers are accurate.
        let zeros = a.truth.iter().filter(|&&y| y == 0).count() as f64 / 2000.0;
        assert!(
            (zeros - 1.0 / (1.0 + 0.8 + 0.64 + 0.512)).abs() < 0.04,
            "{zeros}"
        );
        let c = generate(&config.clone().seed(4)).unwrap();
        assert_ne!(a.truth, c.truth);
    }

    #[test]
    fn csv_output_holds_the_generated_data() {
        let config = GeneratorConfig::new(300, 20, 3).seed(5).overlap(vec![2, 4]);
        let (mut csv, mut gold) = (Vec::new(), Vec::new());
        write_csv(&config, &mut csv, Some(&mut gold), |_| {}).unwrap();
        let read = crate::io::read_responses_from(&csv[..], "g.csv", &Default::default()).unwrap();
        let generated = generate(&config).unwrap();
        let data = &generated.responses;
        assert_eq!(read.by_task(), data.by_task());
        assert_eq!(read.by_worker(), data.by_worker());
        assert!(read.task_names().eq(data.task_names()));
        assert!(read.worker_names().eq(data.worker_names()));
        let gold = String::from_utf8(gold).unwrap();
        let truth: Vec<&str> = gold.lines().skip(1).map(|l| &l[l.len() - 1..]).collect();
        let expected: Vec<String> = generated.truth.iter().map(|y| y.to_string()).collect();
        assert_eq!(truth, expected);
        assert!(gold.starts_with("task,label\nt000,"));
    }

    #[test]
    fn decimal_padding() {
        let mut out = Vec::new();
        push_decimal(&mut out, 0, 1);
        push_decimal(&mut out, 42, 5);
        push_decimal(&mut out, 12345, 2);
        assert_eq!(out, b"00004212345");
    }

    #[test]
    fn invalid_configs() {
        assert!(generate(&GeneratorConfig::new(10, 2, 2)).is_err()); // overlap 5 > 2 workers
        assert!(generate(&GeneratorConfig::new(10, 10, 1)).is_err());
        assert!(generate(&GeneratorConfig::new(10, 10, 2).overlap(vec![])).is_err());
    }

    #[test]
    fn xoshiro_reference_value() {
        // xoshiro256** with state [1, 2, 3, 4]: first output 11520 (reference implementation).
        let mut rng = Xoshiro256([1, 2, 3, 4]);
        assert_eq!(rng.next(), 11520);
    }
}
