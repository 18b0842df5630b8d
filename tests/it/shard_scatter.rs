//! `crowdagg::shard`'s reduce-scatter by worker range: owners that add their slices in shard
//! order and M-step their workers give the bits of the driver's merge (and so of the
//! single-machine fit with `shards = P`), for any number of owners, empty ranges included; a
//! lost owner or shard rebuilt mid-run changes nothing.

use crowdagg::generate::GeneratorConfig;
use crowdagg::methods::DawidSkeneParams;
use crowdagg::shard::{
    self, Config, Driver, Layout, MAX_EMPTY_OWNERS, Owner, Scattered, Shard, worker_range,
    worker_ranges,
};
use crowdagg::{Gold, Label, Responses};

use crate::common::{dataset, responses};
use crate::shard::{
    assert_same_bits, build_shard, generated_with_gold, half_gold, methods, sources_of,
};

#[test]
fn worker_ranges_are_equal_counts_in_order() {
    assert_eq!(worker_ranges(10, 3).unwrap(), [0..4, 4..7, 7..10]);
    assert_eq!(worker_ranges(10, 1).unwrap(), vec![(0..10)]);
    assert_eq!(
        worker_ranges(2, 4).unwrap(),
        [0..1, 1..2, 2..2, 2..2],
        "empty ranges at the end"
    );
    assert_eq!(worker_ranges(0, 2).unwrap(), [0..0, 0..0]);
    // The O(1) range of one owner is the same cut (by hand: 10 = 4 + 3 + 3).
    for (n, owners) in [(10, 3), (2, 4), (0, 2), (7, 7), (1000, 64)] {
        let all = worker_ranges(n, owners).unwrap();
        for (r, range) in all.iter().enumerate() {
            assert_eq!(worker_range(n, owners, r).as_ref(), Some(range));
        }
        assert_eq!(worker_range(n, owners, owners), None);
    }
}

#[test]
fn owner_counts_out_of_bounds_are_errors_not_panics() {
    // 0 owners; more than max(W, MAX_EMPTY_OWNERS); a count near usize::MAX (from Python: a
    // capacity overflow when every range was allocated).
    for owners in [0, MAX_EMPTY_OWNERS + 1, usize::MAX / 2, usize::MAX] {
        let err = worker_ranges(10, owners).unwrap_err();
        assert!(err.to_string().contains("owners"), "{owners}: {err}");
    }
    assert_eq!(
        worker_ranges(10, MAX_EMPTY_OWNERS).unwrap().len(),
        MAX_EMPTY_OWNERS
    );
    let data = responses(&dataset("web", "responses.csv"));
    let config = Config::dawid_skene(&DawidSkeneParams::default()).unwrap();
    let layout = Layout::new(data.n_tasks(), data.n_workers(), data.n_labels(), 2).unwrap();
    for owners in [0, usize::MAX] {
        assert!(
            Owner::new(config, layout.clone(), owners, 0).is_err(),
            "{owners}"
        );
        assert!(
            shard::run_scattered_in_process(&config, &data, None, 2, owners).is_err(),
            "{owners}"
        );
    }
    let sources = sources_of(&data, &layout);
    let mut shard = build_shard(&config, &layout, &sources, 0);
    assert!(shard.init_scattered(usize::MAX).is_err());
    assert!(shard.init_scattered(0).is_err());
    let driver = Driver::new(config, layout);
    assert!(driver.owner_answers(usize::MAX, 0).is_err());
}

/// Owner-merged runs against the driver-merged run and the single-machine `shards = P` fit.
fn check(data: &Responses, gold: Option<&Gold>, plans: &[(usize, usize)], name: &str) {
    let resolved: Option<Vec<Option<Label>>> = gold.map(|g| g.resolve(data).unwrap());
    for (n_iter, tol) in [(Some(40), Some(0.0)), (None, None)] {
        for (method, config, fit) in methods(n_iter, tol) {
            for &(p, r) in plans {
                let what = format!(
                    "{name} {method} n_iter={n_iter:?} gold={} P={p} R={r}",
                    gold.is_some()
                );
                let scattered =
                    shard::run_scattered_in_process(&config, data, resolved.as_deref(), p, r)
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                let merged = shard::run_in_process(&config, data, resolved.as_deref(), p).unwrap();
                assert_same_bits(&scattered, &merged, &format!("{what} vs driver merge"));
                let single = fit(Some(p), gold, data);
                assert_same_bits(&scattered, &single, &format!("{what} vs shards=P"));
            }
        }
    }
}

#[test]
fn web_owners_have_the_bits_of_the_driver_merge() {
    let data = responses(&dataset("web", "responses.csv"));
    let w = data.n_workers();
    let gold = half_gold(&data);
    for gold in [None, Some(&gold)] {
        // R beyond the worker count: empty ranges, whose slices carry headers only.
        check(
            &data,
            gold,
            &[(1, 1), (4, 2), (4, 3), (7, 5), (2, w), (4, w + 3)],
            "web",
        );
    }
}

#[test]
fn generated_owners_have_the_bits_of_the_driver_merge() {
    let (generated, gold) = generated_with_gold(GeneratorConfig::new(20_000, 700, 4).seed(17), 5);
    let data = &generated.responses;
    for gold in [None, Some(&gold)] {
        check(data, gold, &[(4, 2), (16, 7)], "generated");
    }
}

/// Bad slices and heads are errors, not panics; an owner refuses step slices before init.
#[test]
fn bad_slices_are_errors() {
    let data = responses(&dataset("web", "responses.csv"));
    let config = Config::dawid_skene(&DawidSkeneParams::default()).unwrap();
    let layout = Layout::new(data.n_tasks(), data.n_workers(), data.n_labels(), 2).unwrap();
    let n = layout.shards().len();
    let sources = sources_of(&data, &layout);
    let mut shards: Vec<Shard> = (0..n)
        .map(|s| build_shard(&config, &layout, &sources, s))
        .collect();
    assert!(
        Owner::new(config, layout.clone(), 2, 2).is_err(),
        "owner 2 of 2"
    );
    let mut owner = Owner::new(config, layout.clone(), 2, 1).unwrap();
    let parts: Vec<Scattered> = shards
        .iter_mut()
        .map(|s| s.init_scattered(2).unwrap())
        .collect();
    // Range 0's slices at owner 1.
    let wrong: Vec<&[f64]> = parts.iter().map(|p| p.slices[0].as_slice()).collect();
    let err = owner.reduce(&wrong).unwrap_err();
    assert!(err.to_string().contains("slice of range 1"), "{err}");
    let right: Vec<&[f64]> = parts.iter().map(|p| p.slices[1].as_slice()).collect();
    assert!(owner.reduce(&right[..1]).is_err(), "a shard missing");
    let mut fresh = Owner::new(config, layout.clone(), 2, 1).unwrap();
    let model = {
        let mut driver = Driver::new(config, layout.clone());
        let heads: Vec<&[f64]> = parts.iter().map(|p| p.head.as_slice()).collect();
        let mut owners: Vec<Owner> = (0..2)
            .map(|r| Owner::new(config, layout.clone(), 2, r).unwrap())
            .collect();
        let slices: Vec<Vec<f64>> = (0..2)
            .map(|r| {
                let mine: Vec<&[f64]> = parts.iter().map(|p| p.slices[r].as_slice()).collect();
                owners[r].reduce(&mine).unwrap()
            })
            .collect();
        let refs: Vec<&[f64]> = slices.iter().map(Vec::as_slice).collect();
        assert!(
            driver.update_scattered(&heads, &refs[..1]).is_err(),
            "one model slice missing"
        );
        assert!(driver.update_scattered(&heads[..1], &refs).is_err());
        let swapped = [refs[1], refs[0]];
        assert!(driver.update_scattered(&heads, &swapped).is_err());
        driver
            .update_scattered(&heads, &refs)
            .unwrap()
            .unwrap()
            .to_vec()
    };
    let steps: Vec<Scattered> = shards
        .iter_mut()
        .map(|s| s.step_scattered(&model, 2).unwrap())
        .collect();
    let mine: Vec<&[f64]> = steps.iter().map(|p| p.slices[1].as_slice()).collect();
    let err = fresh.reduce(&mine).unwrap_err();
    assert!(err.to_string().contains("before init"), "{err}");
    assert!(fresh.restore(&[1.0]).is_err(), "wrong answer count");
}

/// The Ray/Dask recovery path of a reduce-scatter, in process: after iteration 1 the process
/// holding shard 1 and owner 1 is lost; the shard is rebuilt from its source (init, a step on
/// the model before), the owner from the driver's answers; the run ends with the same bits.
#[test]
fn a_rebuilt_owner_and_shard_continue_with_the_same_bits() {
    let data = responses(&dataset("web", "responses.csv"));
    for (method, config, fit) in methods(Some(25), Some(0.0)) {
        let layout = Layout::new(data.n_tasks(), data.n_workers(), data.n_labels(), 4).unwrap();
        let n = layout.shards().len();
        let owners = 3;
        let sources = sources_of(&data, &layout);
        let build = |s: usize| build_shard(&config, &layout, &sources, s);
        let new_owner = |r| Owner::new(config, layout.clone(), owners, r).unwrap();
        let mut shards: Vec<Shard> = (0..n).map(build).collect();
        let mut owner_list: Vec<Owner> = (0..owners).map(new_owner).collect();
        let mut driver = Driver::new(config, layout.clone());
        let mut parts: Vec<Scattered> = shards
            .iter_mut()
            .map(|s| s.init_scattered(owners).unwrap())
            .collect();
        let (mut iteration, mut recovered_at) = (0, None);
        loop {
            let heads: Vec<&[f64]> = parts.iter().map(|p| p.head.as_slice()).collect();
            // Owners reduce in reverse order: only the order of the slices matters.
            let mut model_slices = vec![Vec::new(); owners];
            for r in (0..owners).rev() {
                let mine: Vec<&[f64]> = parts.iter().map(|p| p.slices[r].as_slice()).collect();
                model_slices[r] = owner_list[r].reduce(&mine).unwrap();
            }
            let refs: Vec<&[f64]> = model_slices.iter().map(Vec::as_slice).collect();
            let Some(model) = driver.update_scattered(&heads, &refs).unwrap() else {
                break;
            };
            let model = model.to_vec();
            iteration += 1;
            // One-coin DS on web stops early (its ELBO falls at tol = 0): recover soon.
            if iteration == 2 {
                recovered_at = Some(iteration);
                let mut fresh = build(1);
                fresh.init();
                if let Some(before) = driver.model_before() {
                    fresh.step(before).unwrap();
                }
                shards[1] = fresh;
                let mut owner = new_owner(1);
                owner
                    .restore(driver.owner_answers(owners, 1).unwrap())
                    .unwrap();
                owner_list[1] = owner;
            }
            parts = (0..n)
                .rev()
                .map(|s| shards[s].step_scattered(&model, owners).unwrap())
                .collect();
            parts.reverse();
        }
        let posteriors: Vec<&[f64]> = shards.iter().map(Shard::posteriors).collect();
        let recovered = driver.finish(&posteriors).unwrap();
        assert_eq!(recovered_at, Some(2), "{method}: a recovery happened");
        assert!(
            recovered.report.iterations >= 2,
            "{method}: the run went on"
        );
        assert_same_bits(
            &recovered,
            &fit(Some(4), None, &data),
            &format!("{method} recovered"),
        );
    }
}

/// Model slices carry `[range, pass]`: two swapped slices of equal length (W % R == 0) are an
/// error, not a model with two ranges' workers exchanged.
#[test]
fn swapped_model_slices_are_errors() {
    let data = responses(&dataset("web", "responses.csv"));
    let config = Config::dawid_skene(&DawidSkeneParams::default()).unwrap();
    let layout = Layout::new(data.n_tasks(), data.n_workers(), data.n_labels(), 2).unwrap();
    let w = layout.sizes().1;
    let owners = (2..=w).find(|&r| w.is_multiple_of(r)).unwrap();
    let sources = sources_of(&data, &layout);
    let mut shards: Vec<Shard> = (0..layout.shards().len())
        .map(|s| build_shard(&config, &layout, &sources, s))
        .collect();
    let parts: Vec<Scattered> = shards
        .iter_mut()
        .map(|s| s.init_scattered(owners).unwrap())
        .collect();
    let model_slices: Vec<Vec<f64>> = (0..owners)
        .map(|r| {
            let mut owner = Owner::new(config, layout.clone(), owners, r).unwrap();
            let mine: Vec<&[f64]> = parts.iter().map(|p| p.slices[r].as_slice()).collect();
            owner.reduce(&mine).unwrap()
        })
        .collect();
    assert_eq!(model_slices[0].len(), model_slices[1].len(), "W % R == 0");
    let heads: Vec<&[f64]> = parts.iter().map(|p| p.head.as_slice()).collect();
    let mut swapped: Vec<&[f64]> = model_slices.iter().map(Vec::as_slice).collect();
    swapped.swap(0, 1);
    let mut driver = Driver::new(config, layout.clone());
    let err = driver.update_scattered(&heads, &swapped).unwrap_err();
    assert!(err.to_string().contains("model slice #0"), "{err}");
    // In order, the same slices are taken.
    let mut driver = Driver::new(config, layout);
    swapped.swap(0, 1);
    assert!(driver.update_scattered(&heads, &swapped).unwrap().is_some());
}
