//! `crowdagg::shard`: a P-shard run has the bits of the single-machine fit with `shards = P`
//! and is within 1e-12 of the default fit; a lost shard rebuilt mid-run changes nothing.

use crowdagg::generate::{Generated, GeneratorConfig, generate};
use crowdagg::methods::{DawidSkeneParams, OneCoinDawidSkeneParams};
use crowdagg::shard::{self, Config, Driver, Layout, Shard, plan, shard_codes};
use crowdagg::{Aggregation, Aggregator, FitInputs, Gold, Label, Params, Responses};

use crate::common::{dataset, gold, responses};

/// The methods under test: (name, config, single-machine fit with `shards`).
pub(crate) type Fit = Box<dyn Fn(Option<usize>, Option<&Gold>, &Responses) -> Aggregation>;

pub(crate) fn methods(n_iter: Option<usize>, tol: Option<f64>) -> Vec<(&'static str, Config, Fit)> {
    let mut ds = DawidSkeneParams::default();
    let mut one = OneCoinDawidSkeneParams::default();
    if let (Some(n), Some(t)) = (n_iter, tol) {
        ds = ds.n_iter(n).tol(t);
        one = one.n_iter(n).tol(t);
    }
    let ds_config = Config::dawid_skene(&ds).unwrap();
    let one_config = Config::one_coin(&one);
    vec![
        (
            "ds",
            ds_config,
            Box::new(move |shards, gold, data| {
                let p = match shards {
                    Some(s) => ds.clone().shards(s),
                    None => ds.clone(),
                };
                fit(p.check().unwrap(), gold, data)
            }),
        ),
        (
            "one-coin-ds",
            one_config,
            Box::new(move |shards, gold, data| {
                let p = match shards {
                    Some(s) => one.shards(s),
                    None => one,
                };
                fit(p.check().unwrap(), gold, data)
            }),
        ),
    ]
}

pub(crate) fn fit(
    aggregator: impl Aggregator,
    gold: Option<&Gold>,
    data: &Responses,
) -> Aggregation {
    let mut inputs = FitInputs::default();
    if let Some(gold) = gold {
        inputs = inputs.gold(gold);
    }
    aggregator.aggregate_with(data, inputs).unwrap()
}

pub(crate) fn bits(values: impl IntoIterator<Item = f64>) -> Vec<u64> {
    values.into_iter().map(f64::to_bits).collect()
}

/// Every output of the two fits has the same bits.
pub(crate) fn assert_same_bits(a: &Aggregation, b: &Aggregation, what: &str) {
    let probas = |r: &Aggregation| bits(r.probabilities.as_ref().unwrap().iter().copied());
    let errors = |r: &Aggregation| bits(r.errors.as_ref().unwrap().iter().copied());
    let priors = |r: &Aggregation| bits(r.priors.clone().unwrap());
    let skills = |r: &Aggregation| {
        r.skills
            .as_ref()
            .map(|s| bits(s.iter().map(|v| v.unwrap())))
    };
    assert_eq!(a.labels, b.labels, "{what}: labels");
    assert!(probas(a) == probas(b), "{what}: probabilities");
    assert!(errors(a) == errors(b), "{what}: errors");
    assert_eq!(priors(a), priors(b), "{what}: priors");
    assert_eq!(skills(a), skills(b), "{what}: skills");
    assert_eq!(bits(a.confidence.clone()), bits(b.confidence.clone()));
    assert_eq!(
        a.report.iterations, b.report.iterations,
        "{what}: iterations"
    );
    assert_eq!(a.report.stop_reason, b.report.stop_reason, "{what}: stop");
    assert_eq!(
        bits(a.report.loss_history.clone()),
        bits(b.report.loss_history.clone()),
        "{what}: loss history"
    );
}

/// Same iterations and labels, every number within `tol`.
fn assert_close(a: &Aggregation, b: &Aggregation, tol: f64, what: &str) {
    let max_diff = |x: &[f64], y: &[f64]| {
        assert_eq!(x.len(), y.len());
        x.iter()
            .zip(y)
            .map(|(u, v)| (u - v).abs())
            .fold(0.0, f64::max)
    };
    let pa = a.probabilities.as_ref().unwrap();
    let pb = b.probabilities.as_ref().unwrap();
    let ea = a.errors.as_ref().unwrap();
    let eb = b.errors.as_ref().unwrap();
    for (name, d) in [
        (
            "probabilities",
            max_diff(pa.as_slice().unwrap(), pb.as_slice().unwrap()),
        ),
        (
            "errors",
            max_diff(ea.as_slice().unwrap(), eb.as_slice().unwrap()),
        ),
        (
            "priors",
            max_diff(a.priors.as_ref().unwrap(), b.priors.as_ref().unwrap()),
        ),
        (
            "loss",
            max_diff(&a.report.loss_history, &b.report.loss_history),
        ),
    ] {
        assert!(d <= tol, "{what}: {name} differ by {d:e}");
    }
    assert_eq!(
        a.report.iterations, b.report.iterations,
        "{what}: iterations"
    );
    assert_eq!(a.labels, b.labels, "{what}: labels");
}

/// Half of the web gold (every other gold task), so gold and non-gold tasks mix in shards.
pub(crate) fn half_gold(data: &Responses) -> Gold {
    let all = gold(&dataset("web", "gold.csv"));
    let mut names: Vec<_> = data
        .task_names()
        .filter(|t| all.get(t).is_some())
        .map(str::to_owned)
        .collect();
    names.sort();
    names
        .iter()
        .step_by(2)
        .map(|t| (t.clone(), all.get(t).unwrap().to_owned()))
        .collect()
}

fn check_dataset(data: &Responses, gold: Option<&Gold>, shard_counts: &[usize], name: &str) {
    let resolved: Option<Vec<Option<Label>>> = gold.map(|g| g.resolve(data).unwrap());
    for (n_iter, tol) in [(Some(50), Some(0.0)), (None, None)] {
        for (method, config, fit) in methods(n_iter, tol) {
            let default = fit(None, gold, data);
            for &p in shard_counts {
                let what = format!(
                    "{name} {method} n_iter={n_iter:?} gold={} P={p}",
                    gold.is_some()
                );
                let distributed = shard::run_in_process(&config, data, resolved.as_deref(), p)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                let single = fit(Some(p), gold, data);
                assert_same_bits(&distributed, &single, &what);
                assert_close(&distributed, &default, 1e-12, &what);
            }
        }
    }
}

#[test]
fn web_shards_have_the_bits_of_shards_p() {
    let data = responses(&dataset("web", "responses.csv"));
    let gold = half_gold(&data);
    for gold in [None, Some(&gold)] {
        check_dataset(&data, gold, &[1, 2, 4, 7], "web");
    }
}

/// A generated table, and gold for every `every`-th task from the generator's truth.
pub(crate) fn generated_with_gold(config: GeneratorConfig, every: usize) -> (Generated, Gold) {
    let generated = generate(&config).unwrap();
    let data = &generated.responses;
    let gold: Gold = (0..data.n_tasks())
        .step_by(every)
        .map(|t| {
            let label = data.label_name(generated.truth[t]).to_owned();
            (data.task_name(t).to_owned(), label)
        })
        .collect();
    (generated, gold)
}

#[test]
fn generated_shards_have_the_bits_of_shards_p() {
    let (generated, gold) = generated_with_gold(GeneratorConfig::new(30_000, 400, 3).seed(15), 7);
    let data = &generated.responses;
    for gold in [None, Some(&gold)] {
        check_dataset(data, gold, &[4, 16], "generated");
    }
    // The bit comparisons can fail: another plan changes the last bits.
    let params = DawidSkeneParams::default().n_iter(50).tol(0.0);
    let probas = |p: usize| {
        let fitted = fit(params.clone().shards(p).check().unwrap(), None, data);
        bits(fitted.probabilities.unwrap().iter().copied())
    };
    assert_ne!(probas(4), probas(16), "4 and 16 shards sum in other orders");
}

#[test]
fn the_plan_cuts_whole_chunks_like_the_blocks_knob() {
    assert!(plan(0, 4).is_empty());
    assert_eq!(plan(10, 4), vec![(0..10)]);
    assert_eq!(plan(5 * 512, 4), [0..1024, 1024..2048, 2048..2560]);
    assert_eq!(plan(5 * 512 - 3, 1), vec![(0..2557)]);
    assert_eq!(
        plan(8 * 512 + 1, 4),
        [0..1536, 1536..3072, 3072..4097],
        "9 chunks on 4 shards: 3 per shard"
    );
}

/// The codes of every shard of `layout` (what a lost shard is rebuilt from).
pub(crate) type Sources = Vec<(Vec<i64>, Vec<i64>, Vec<i64>)>;

pub(crate) fn sources_of(data: &Responses, layout: &Layout) -> Sources {
    let ranges = layout.shards().iter();
    ranges.map(|r| shard_codes(data, r.clone())).collect()
}

/// Shard `s` of `layout`, built from its source, without gold.
pub(crate) fn build_shard(config: &Config, layout: &Layout, sources: &Sources, s: usize) -> Shard {
    let (t, w, l) = &sources[s];
    Shard::new(config, layout, s, (t, w, l), None).unwrap()
}

/// The Ray/Dask recovery path, in process: shard 1 is lost after iteration 5 and rebuilt from
/// its source; the run ends with the same bits. Shards also step in a shuffled order.
#[test]
fn a_rebuilt_shard_continues_with_the_same_bits() {
    let data = responses(&dataset("web", "responses.csv"));
    let params = DawidSkeneParams::default().n_iter(30).tol(0.0);
    let config = Config::dawid_skene(&params).unwrap();
    let layout = Layout::new(data.n_tasks(), data.n_workers(), data.n_labels(), 4).unwrap();
    let n = layout.shards().len();
    assert_eq!(n, 3, "web has 6 chunks: 3 shards of 2");
    let sources = sources_of(&data, &layout);
    let build = |s: usize| build_shard(&config, &layout, &sources, s);
    let mut shards: Vec<Shard> = (0..n).map(build).collect();
    let mut driver = Driver::new(config, layout.clone());
    let mut stats: Vec<Vec<f64>> = shards.iter_mut().map(Shard::init).collect();
    let mut iteration = 0;
    while let Some(model) = driver
        .update(&stats.iter().map(Vec::as_slice).collect::<Vec<_>>())
        .unwrap()
    {
        let model = model.to_vec();
        iteration += 1;
        if iteration == 6 {
            let mut fresh = build(1);
            fresh.init();
            if let Some(before) = driver.model_before() {
                fresh.step(before).unwrap();
            }
            shards[1] = fresh;
        }
        // Shards step in reverse order: only the merge order matters.
        for s in (0..n).rev() {
            stats[s] = shards[s].step(&model).unwrap();
        }
    }
    let posteriors: Vec<&[f64]> = shards.iter().map(Shard::posteriors).collect();
    let recovered = driver.finish(&posteriors).unwrap();
    let single = fit(params.shards(4).check().unwrap(), None, &data);
    assert_eq!(recovered.report.iterations, 30);
    assert_same_bits(&recovered, &single, "recovered");
}

#[test]
fn bad_buffers_are_errors_not_panics() {
    let data = responses(&dataset("web", "responses.csv"));
    let config = Config::dawid_skene(&DawidSkeneParams::default()).unwrap();
    let layout = Layout::new(data.n_tasks(), data.n_workers(), data.n_labels(), 2).unwrap();
    let (t, w, l) = shard_codes(&data, layout.shards()[1].clone());
    // Shard 1's answers are outside shard 0's tasks.
    let err = Shard::new(&config, &layout, 0, (&t, &w, &l), None).unwrap_err();
    assert!(
        err.to_string().contains("outside the shard's tasks"),
        "{err}"
    );
    let mut one = Shard::new(&config, &layout, 1, (&t, &w, &l), None).unwrap();
    assert!(one.step(&[0.0; 3]).is_err(), "step before init");
    let stats = one.init();
    assert!(
        one.step(&[0.0; 3])
            .unwrap_err()
            .to_string()
            .contains("model of 3 values")
    );
    // Shard 1's statistics where shard 0's are expected.
    let mut driver = Driver::new(config, layout);
    let err = driver.update(&[&stats, &stats]).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected shard 0's init statistics"),
        "{err}"
    );
    assert!(driver.update(&[&stats]).is_err(), "one shard missing");
}

/// Spark's re-scan mode: no shard survives a pass. Each pass rebuilds every shard, runs
/// `init`, steps on the model before the current one (if any) and then on the current one;
/// the result's posterior is recomputed the same way. Same bits as `shards = P`; and the
/// driver's names write the CLI's bytes, and refuse names out of canonical order.
#[test]
fn stateless_passes_and_names_give_the_cli_bytes() {
    let data = responses(&dataset("web", "responses.csv"));
    for (method, config, fit) in methods(Some(20), Some(0.0))
        .into_iter()
        .chain(methods(None, None))
    {
        let layout = Layout::new(data.n_tasks(), data.n_workers(), data.n_labels(), 4).unwrap();
        let sources: Vec<_> = layout
            .shards()
            .iter()
            .map(|r| shard_codes(&data, r.clone()))
            .collect();
        let pass = |models: &[Vec<f64>], posteriors: bool| -> Vec<Vec<f64>> {
            (0..sources.len())
                .map(|s| {
                    let (t, w, l) = &sources[s];
                    let mut shard = Shard::new(&config, &layout, s, (t, w, l), None).unwrap();
                    let mut out = shard.init();
                    for model in models {
                        out = shard.step(model).unwrap();
                    }
                    if posteriors {
                        shard.posteriors().to_vec()
                    } else {
                        out
                    }
                })
                .collect()
        };
        fn slices(v: &[Vec<f64>]) -> Vec<&[f64]> {
            v.iter().map(Vec::as_slice).collect()
        }
        let mut driver = Driver::new(config, layout.clone());
        let mut stats = pass(&[], false);
        while let Some(model) = driver.update(&slices(&stats)).unwrap() {
            let model = model.to_vec();
            let mut models: Vec<Vec<f64>> = driver
                .model_before()
                .map(<[f64]>::to_vec)
                .into_iter()
                .collect();
            models.push(model);
            stats = pass(&models, false);
        }
        let models: Vec<Vec<f64>> = driver
            .result_models()
            .into_iter()
            .map(<[f64]>::to_vec)
            .collect();
        let result = driver.finish(&slices(&pass(&models, true))).unwrap();
        let single = fit(Some(4), None, &data);
        assert_same_bits(&result, &single, method);
        let names = |it: &mut dyn Iterator<Item = &str>| it.map(str::to_owned).collect::<Vec<_>>();
        let (tasks, workers, labels) = (
            names(&mut data.task_names()),
            names(&mut data.worker_names()),
            data.label_names()
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        );
        let named = driver
            .names(tasks.clone(), workers.clone(), labels.clone())
            .unwrap();
        let (mut ours, mut cli) = (Vec::new(), Vec::new());
        crowdagg::output::write_csv(&mut ours, &named, &result).unwrap();
        crowdagg::output::write_csv(&mut cli, &data, &single).unwrap();
        assert!(ours == cli, "{method}: csv bytes");
        let report = crowdagg::methods::ParamReport::default();
        let (mut ours, mut cli) = (Vec::new(), Vec::new());
        crowdagg::output::write_json(&mut ours, &named, &result, method, &report).unwrap();
        crowdagg::output::write_json(&mut cli, &data, &single, method, &report).unwrap();
        assert!(ours == cli, "{method}: json bytes");
        // Byte order instead of the numeric order of the web's integer names: refused.
        let mut by_bytes = tasks.clone();
        by_bytes.sort();
        let err = driver
            .names(by_bytes, workers.clone(), labels.clone())
            .unwrap_err();
        assert!(err.to_string().contains("not in canonical order"), "{err}");
        assert!(
            driver.names(tasks[1..].to_vec(), workers, labels).is_err(),
            "a name missing"
        );
    }
}

/// Majority vote and Wawa on shards: the bits of the single-machine fit on any plan (the
/// per-worker agreement counts are integers), and the same bytes from the writers.
#[test]
fn vote_shards_have_the_bits_of_one_machine() {
    use crowdagg::shard::{Vote, VoteDriver, VoteShard};
    use crowdagg::{MajorityVote, Wawa};
    let web = responses(&dataset("web", "responses.csv"));
    let generated = generate(&GeneratorConfig::new(20_000, 300, 3).seed(16)).unwrap();
    for (name, data) in [("web", &web), ("generated", &generated.responses)] {
        for vote in [Vote::Majority, Vote::Wawa] {
            let single = match vote {
                Vote::Majority => MajorityVote::default().aggregate(data).unwrap(),
                Vote::Wawa => Wawa.aggregate(data).unwrap(),
                other => panic!("no single-machine run for {other:?}"),
            };
            for p in [1, 3, 8] {
                let what = format!("{name} {vote:?} P={p}");
                let layout =
                    Layout::new(data.n_tasks(), data.n_workers(), data.n_labels(), p).unwrap();
                let mut shards: Vec<VoteShard> = (0..layout.shards().len())
                    .map(|s| {
                        let (t, w, l) = shard_codes(data, layout.shards()[s].clone());
                        VoteShard::new(&layout, s, (&t, &w, &l)).unwrap()
                    })
                    .collect();
                let mut driver = VoteDriver::new(vote, layout.clone());
                let mut stats: Vec<Vec<f64>> = shards.iter_mut().map(VoteShard::init).collect();
                let mut passes = 0;
                while let Some(skills) = driver
                    .update(&stats.iter().map(Vec::as_slice).collect::<Vec<_>>())
                    .unwrap()
                {
                    let skills = skills.to_vec();
                    passes += 1;
                    for s in (0..shards.len()).rev() {
                        stats[s] = shards[s].step(&skills).unwrap();
                    }
                }
                assert_eq!(passes, usize::from(vote == Vote::Wawa), "{what}: passes");
                let posteriors: Vec<&[f64]> = shards.iter().map(VoteShard::posteriors).collect();
                let result = driver.finish(&posteriors).unwrap();
                assert_eq!(result.labels, single.labels, "{what}: labels");
                let probas =
                    |r: &Aggregation| bits(r.probabilities.as_ref().unwrap().iter().copied());
                assert!(probas(&result) == probas(&single), "{what}: probabilities");
                let skills = |r: &Aggregation| {
                    bits(r.skills.as_ref().unwrap().iter().map(|s| s.unwrap_or(-1.0)))
                };
                assert_eq!(skills(&result), skills(&single), "{what}: skills");
                let names = driver
                    .names(
                        data.task_names().map(str::to_owned).collect(),
                        data.worker_names().map(str::to_owned).collect(),
                        data.label_names().into_iter().map(str::to_owned).collect(),
                    )
                    .unwrap();
                let report = crowdagg::methods::ParamReport::default();
                let (mut ours, mut cli) = (Vec::new(), Vec::new());
                crowdagg::output::write_json(&mut ours, &names, &result, "v", &report).unwrap();
                crowdagg::output::write_json(&mut cli, data, &single, "v", &report).unwrap();
                assert!(ours == cli, "{what}: json bytes");
            }
        }
    }
}
