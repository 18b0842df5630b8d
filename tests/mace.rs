//! MACE against crowd-kit 1.4.2 (specs/crowd-kit-spec.md §6 and fixtures/mace/).

mod common;

use crowdagg::{Mace, MaceMethod, Params};

#[test]
fn probe() {
    let data = common::tiny();
    for method in [MaceMethod::Vb, MaceMethod::Em] {
        for seed in [0u64, 1, 2] {
            for n_restarts in [1usize, 10] {
            let fit = Mace::params().method(method).random_state(seed).n_restarts(n_restarts).check().unwrap().fit(&data, Default::default()).unwrap();
            eprintln!("{method:?} seed {seed} restarts {n_restarts} lml {} restart {}", fit.log_marginal_likelihood, fit.restart);
            let p = fit.aggregation.probabilities.unwrap();
            for t in 0..6 { eprintln!("  {:?}", p.row(t).to_vec()); }
            eprintln!("  spam {:?}", fit.spamming.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>());
            }
        }
    }
}
