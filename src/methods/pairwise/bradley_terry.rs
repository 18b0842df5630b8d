//! Bradley-Terry scores by the MM algorithm (crowd-kit `BradleyTerry`).

use std::time::Instant;

use crate::aggregation::{FitReport, IterationLoop, Observer, StopReason};
use crate::error::Result;
use crate::pairwise::PairwiseResponses;

use super::super::params::{ParamReport, check_non_negative, report};
use super::{PairwiseAggregation, PairwiseAggregator, PairwiseCompat, numpy_sum};

/// The Bradley-Terry model (Bradley & Terry, "Rank Analysis of Incomplete Block Designs: I.
/// The Method of Paired Comparisons", Biometrika 39, 1952): item i beats item j with
/// probability pᵢ / (pᵢ + pⱼ). Its maximum-likelihood strengths are found by the MM algorithm
/// of Hunter ("MM algorithms for generalized Bradley-Terry models", Ann. Statist. 32(1),
/// 384–406, 2004), as crowd-kit writes it:
///
/// * Mᵢⱼ = number of times i beat j, Tᵢⱼ = Mᵢⱼ + Mⱼᵢ, wᵢ = Σⱼ Mᵢⱼ (wins of i);
/// * start from p = (1, …, 1); each iteration sets pⱼ ← wⱼ / Σᵢ Tᵢⱼ / (pᵢ + pⱼ) (sum over the
///   items compared with j), then normalises p to sum 1;
/// * stop when the L1 change ‖p − p_prev‖₁ < `tol` (the change is reported in
///   `report.loss_history`; the first iteration compares with the uniform start), or after
///   `n_iter` iterations.
///
/// Output: `scores` = p, summing to 1 (crowd-kit's `scores_`). The likelihood is maximised at
/// a finite point when the comparison graph is strongly connected (Hunter's Assumption 1);
/// otherwise some strengths tend to 0 and the fit runs to `n_iter`. An item that never wins
/// gets 0 after the first iteration. Empty data gives empty scores.
///
/// Parameters: `n_iter` (default 1000 — crowd-kit has no default; MM converges linearly and
/// one iteration costs one pass over the distinct pairs, so a generous cap is cheap), `tol`
/// (default 1e-5, crowd-kit's), `compat`.
///
/// `compat=crowd-kit` reproduces crowd-kit 1.4.2, whose convergence variable aliases the current
/// vector: from the second iteration the change it measures is 0, so with `tol > 0` it stops
/// after **exactly two MM steps** whatever `n_iter` says (fewer if `n_iter < 2`), and with
/// `tol = 0` it runs all `n_iter` steps (0 < 0 never holds). Its `loss_history` stays empty.
/// The arithmetic follows crowd-kit's (its dense column sums in row order, numpy's pairwise
/// sum for the normalisation), without its n × n matrices.
///
/// ```
/// use crowdagg::{BradleyTerry, PairwiseAggregator, PairwiseParams, PairwiseResponses};
///
/// // A beat B 2 of 3 times, B beat C 2 of 3, A and C split 1–1 (the crowd-kit spec's example).
/// let data = PairwiseResponses::from_rows([
///     ("w", "A", "B", "A"), ("w", "A", "B", "A"), ("w", "A", "B", "B"),
///     ("w", "B", "C", "B"), ("w", "B", "C", "B"), ("w", "B", "C", "C"),
///     ("w", "A", "C", "A"), ("w", "A", "C", "C"),
/// ])?;
/// let bt = BradleyTerry::params().tol(1e-12).check()?;
/// let fit = bt.fit(&data)?;
/// // The maximum-likelihood strengths computed independently by choix (`ilsr_pairwise`,
/// // alpha = 0, printed by fixtures/pairwise/generate.py), normalised to sum 1:
/// let choix = [0.4336429183852677, 0.3241113304272956, 0.24224575118743666];
/// for (p, q) in fit.scores.iter().zip(choix) {
///     assert!((p - q).abs() < 1e-8);
/// }
/// // (The team spec's "true fixed point" (0.4955, 0.3102, 0.1943) for this example does not
/// // solve wᵢ = Σⱼ nᵢⱼ pᵢ / (pᵢ + pⱼ); the values above do.)
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BradleyTerry {
    params: BradleyTerryParams,
}

/// Parameters of [`BradleyTerry`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename = "BradleyTerry", default, deny_unknown_fields)]
pub struct BradleyTerryParams {
    /// Maximum number of MM iterations (0 returns the uniform start).
    pub n_iter: usize,
    /// Stop when the L1 change of the scores is below this (≥ 0).
    pub tol: f64,
    /// Correct (converging) MM, or crowd-kit's two-step behaviour.
    pub compat: PairwiseCompat,
}

impl Default for BradleyTerryParams {
    fn default() -> Self {
        Self {
            n_iter: 1000,
            tol: 1e-5,
            compat: PairwiseCompat::Correct,
        }
    }
}

crate::methods::params::setters! {
    /// The default parameters, to adjust and [`check`](crate::Params::check).
    BradleyTerry => BradleyTerryParams {
        /// Sets `n_iter`.
        n_iter: usize,
        /// Sets `tol`.
        tol: f64,
        /// Sets `compat`.
        compat: PairwiseCompat,
    }
    check(|p| check_non_negative("tol", p.tol))
}

impl PairwiseAggregator for BradleyTerry {
    fn name(&self) -> &'static str {
        "BradleyTerry"
    }

    fn fit_with(
        &self,
        data: &PairwiseResponses,
        observer: Option<&dyn Observer>,
    ) -> Result<PairwiseAggregation> {
        let (scores, report) = match self.params.compat {
            PairwiseCompat::Correct => self.converging(data, observer),
            PairwiseCompat::CrowdKit => self.crowd_kit(data, observer),
        };
        Ok(PairwiseAggregation {
            scores,
            biases: None,
            skills: None,
            report,
        })
    }

    fn params(&self) -> ParamReport {
        report(&self.params)
    }
}

/// Distinct compared pairs (i < j) with their total count Tᵢⱼ, and the wins of each item.
fn pairs_and_wins(data: &PairwiseResponses) -> (Vec<(u32, u32, f64)>, Vec<f64>) {
    let mut wins = vec![0.0; data.n_items()];
    let mut pairs: Vec<(u32, u32)> = data
        .comparisons()
        .iter()
        .map(|c| {
            wins[c.winner() as usize] += 1.0;
            (c.left.min(c.right), c.left.max(c.right))
        })
        .collect();
    pairs.sort_unstable();
    let mut counted: Vec<(u32, u32, f64)> = Vec::new();
    for (i, j) in pairs {
        match counted.last_mut() {
            Some(last) if (last.0, last.1) == (i, j) => last.2 += 1.0,
            _ => counted.push((i, j, 1.0)),
        }
    }
    (counted, wins)
}

impl BradleyTerry {
    /// Hunter's MM until the L1 change is below `tol`.
    fn converging(
        &self,
        data: &PairwiseResponses,
        observer: Option<&dyn Observer>,
    ) -> (Vec<f64>, FitReport) {
        let n = data.n_items();
        let p_max = self.params.n_iter;
        let (pairs, wins) = pairs_and_wins(data);
        let mut p = vec![1.0 / n as f64; n];
        let mut denominator = vec![0.0; n];
        let driver = IterationLoop::new(p_max, observer, Instant::now());
        let report = driver.run(|_| {
            if n == 0 {
                return Err(StopReason::MaxIterations);
            }
            denominator.iter_mut().for_each(|d| *d = 0.0);
            for &(i, j, t) in &pairs {
                let z = t / (p[i as usize] + p[j as usize]);
                denominator[i as usize] += z;
                denominator[j as usize] += z;
            }
            let mut next: Vec<f64> = wins.iter().zip(&denominator).map(|(w, d)| w / d).collect();
            let total: f64 = next.iter().sum();
            next.iter_mut().for_each(|v| *v /= total);
            let change: f64 = next.iter().zip(&p).map(|(a, b)| (a - b).abs()).sum();
            p = next;
            Ok((
                change,
                (change < self.params.tol).then_some(StopReason::Converged),
            ))
        });
        (p, report)
    }

    /// crowd-kit 1.4.2's loop, aliasing bug included. crowd-kit sums a dense matrix column
    /// by column in row order; summing each item's compared items in id order gives the same
    /// bits (the skipped entries are +0.0) without the n² matrix.
    fn crowd_kit(
        &self,
        data: &PairwiseResponses,
        observer: Option<&dyn Observer>,
    ) -> (Vec<f64>, FitReport) {
        let n = data.n_items();
        let (pairs, w) = pairs_and_wins(data);
        // Per item j: (i, Tᵢⱼ) for the items i compared with j, by increasing i.
        let mut columns: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
        for &(i, j, t) in &pairs {
            columns[j as usize].push((i, t));
            columns[i as usize].push((j, t));
        }
        columns
            .iter_mut()
            .for_each(|c| c.sort_unstable_by_key(|&(i, _)| i));
        let mut p = vec![1.0; n];
        let mut p_new: Vec<f64> = vec![1.0 / numpy_sum(&p); n];
        // No objective: the observer sees 0, and there is no loss history.
        let driver =
            IterationLoop::new(self.params.n_iter, observer, Instant::now()).without_loss_history();
        let report = driver.run(|iteration| {
            if n == 0 {
                return Err(StopReason::MaxIterations);
            }
            for (j, column) in columns.iter().enumerate() {
                // Z.sum(axis=0) with Zᵢⱼ = Tᵢⱼ / (pⱼ + pᵢ).
                let sum = column
                    .iter()
                    .fold(0.0, |acc, &(i, t)| acc + t / (p[j] + p[i as usize]));
                p_new[j] = w[j] / sum;
            }
            let total = numpy_sum(&p_new);
            p_new.iter_mut().for_each(|v| *v /= total);
            p.copy_from_slice(&p_new);
            // From the second iteration crowd-kit compares p_new with itself: a change of 0.
            let converged = iteration >= 2 && 0.0 < self.params.tol;
            Ok((0.0, converged.then_some(StopReason::Converged)))
        });
        (p_new, report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Params;

    fn spec_example() -> PairwiseResponses {
        let rows = [
            ("A", "B", "A"),
            ("A", "B", "A"),
            ("A", "B", "B"),
            ("B", "C", "B"),
            ("B", "C", "B"),
            ("B", "C", "C"),
            ("A", "C", "A"),
            ("A", "C", "C"),
        ];
        PairwiseResponses::from_rows(rows.map(|(l, r, w)| ("w", l, r, w))).unwrap()
    }

    #[test]
    fn compat_runs_two_steps_converging_solves_the_likelihood_equations() {
        let data = spec_example();
        let ck = BradleyTerry::params()
            .compat(PairwiseCompat::CrowdKit)
            .n_iter(100)
            .check()
            .unwrap()
            .fit(&data)
            .unwrap();
        // The spec's measured crowd-kit output.
        for (p, q) in ck
            .scores
            .iter()
            .zip([0.4217791411, 0.3289877301, 0.2492331288])
        {
            assert!((p - q).abs() < 1e-10, "{:?}", ck.scores);
        }
        assert_eq!(ck.report.iterations, 2);
        let fit = BradleyTerry::params()
            .tol(1e-14)
            .check()
            .unwrap()
            .fit(&data)
            .unwrap();
        assert_eq!(fit.report.stop_reason, StopReason::Converged);
        // Hunter's fixed point: wᵢ = Σⱼ nᵢⱼ pᵢ / (pᵢ + pⱼ) for every item.
        let p = &fit.scores;
        let n = [[0.0, 3.0, 2.0], [3.0, 0.0, 3.0], [2.0, 3.0, 0.0]];
        for (i, w) in [3.0, 3.0, 2.0].into_iter().enumerate() {
            let expected: f64 = (0..3).map(|j| n[i][j] * p[i] / (p[i] + p[j])).sum();
            assert!((expected - w).abs() < 1e-10, "{p:?}");
        }
    }

    #[test]
    fn params_are_validated() {
        assert!(BradleyTerry::params().tol(-1.0).check().is_err());
        assert!(BradleyTerry::params().tol(f64::NAN).check().is_err());
        let parse = |key, value| BradleyTerryParams::parse_pairs([(key, value)]);
        assert!(parse("compat", "x").is_err());
        assert!(parse("alpha", "1").is_err());
        let p = parse("compat", "crowd-kit").unwrap();
        assert_eq!(p.compat, PairwiseCompat::CrowdKit);
    }
}
