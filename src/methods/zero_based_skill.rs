//! Zero-Based Skill (crowd-kit `ZeroBasedSkill`).

use std::time::Instant;

use crate::aggregation::{Aggregation, IterationLoop, argmax};
use crate::error::{ParamsError, Result};
use crate::responses::{Label, Responses};

use super::params::{ParamReport, Params, out_of_range, report};
use super::votes::{
    normalize_rows, normalize_rows_in_place, weighted_votes, weighted_votes_into, worker_accuracy,
};
use super::{Aggregator, FitInputs};

/// Zero-Based Skill: skills learnt by repeated weighted majority vote.
///
/// Start with s_w = 1/K + ε. For iteration i = 1..n_iter: if i is a multiple of
/// `lr_steps_to_reduce`, lr ← lr · `lr_reduce_factor`; compute the weighted majority vote with
/// s (ties to the smallest label); s_w ← s_w + lr·(acc_w − s_w), where acc_w is w's fraction of
/// distinct answers equal to the vote. There is no convergence test (as in crowd-kit: `n_iter`
/// iterations always run). The result is the weighted majority vote with the final s.
///
/// Source: crowd-kit 1.4.2 `ZeroBasedSkill` (Toloka's skill-learning heuristic).
///
/// # Example
///
/// ```
/// use crowdagg::{Aggregator, Responses, ZeroBasedSkill};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "no"), ("t1", "w2", "no"), ("t1", "w3", "no"), ("t1", "w4", "yes"),
///     ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "no"), ("t2", "w4", "yes"),
///     ("t3", "w1", "no"), ("t3", "w2", "no"), ("t3", "w3", "yes"), ("t3", "w4", "no"),
///     ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"),
///     ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "yes"), ("t5", "w4", "yes"),
/// ])?;
/// let result = ZeroBasedSkill::default().aggregate(&data)?;
/// let (t2, yes) = (data.task_id("t2").unwrap(), data.label_id("yes").unwrap());
/// assert_eq!(result.labels[t2], yes);
/// // crowd-kit 1.4.2 `ZeroBasedSkill().fit(df).predict_proba(df)` on the same rows:
/// // t2 yes 0.8125, skills w1 1, w2 0.8, w3 0.6, w4 0.8.
/// assert!((result.confidence[t2] - 0.8125).abs() < 1e-9);
/// let w3 = data.worker_id("w3").unwrap();
/// assert!((result.skills.as_ref().unwrap()[w3].unwrap() - 0.6).abs() < 1e-9);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ZeroBasedSkill {
    params: ZeroBasedSkillParams,
}

/// Parameters of [`ZeroBasedSkill`] (defaults as crowd-kit).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename = "ZeroBasedSkill", default, deny_unknown_fields)]
pub struct ZeroBasedSkillParams {
    /// Number of iterations; all of them run (≥ 1).
    pub n_iter: usize,
    /// Learning rate of the first iterations.
    pub lr_init: f64,
    /// The learning rate is multiplied by `lr_reduce_factor` at every multiple of this
    /// iteration number (≥ 1).
    pub lr_steps_to_reduce: usize,
    /// Factor applied to the learning rate every `lr_steps_to_reduce` iterations.
    pub lr_reduce_factor: f64,
    /// Every skill starts at 1/K + `eps` (K labels), just above a random guess.
    pub eps: f64,
}

impl Default for ZeroBasedSkillParams {
    fn default() -> Self {
        Self {
            n_iter: 100,
            lr_init: 1.0,
            lr_steps_to_reduce: 20,
            lr_reduce_factor: 0.5,
            eps: 1e-5,
        }
    }
}

impl ZeroBasedSkill {
    /// The default parameters (crowd-kit's: `n_iter` 100, `lr_init` 1, steps 20, factor 0.5,
    /// `eps` 1e-5), to adjust and then [`check`](Params::check) into a [`ZeroBasedSkill`].
    pub fn params() -> ZeroBasedSkillParams {
        ZeroBasedSkillParams::default()
    }
}

crate::methods::params::setters! {
    ZeroBasedSkillParams {
        /// Sets the number of iterations (≥ 1).
        n_iter: usize,
        /// Sets the initial learning rate.
        lr_init: f64,
    }
}

impl Params for ZeroBasedSkillParams {
    type Checked = ZeroBasedSkill;

    fn check(self) -> Result<ZeroBasedSkill, ParamsError> {
        if self.lr_steps_to_reduce == 0 {
            return Err(out_of_range("lr_steps_to_reduce", "at least 1", 0));
        }
        for (name, v) in [
            ("lr_init", self.lr_init),
            ("lr_reduce_factor", self.lr_reduce_factor),
            ("eps", self.eps),
        ] {
            if !v.is_finite() {
                return Err(out_of_range(name, "a finite number", v));
            }
        }
        Ok(ZeroBasedSkill { params: self })
    }
}

impl Aggregator for ZeroBasedSkill {
    fn name(&self) -> &'static str {
        "ZeroBasedSkill"
    }

    fn aggregate_with(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation> {
        let started = Instant::now();
        if data.is_empty() {
            return Ok(super::empty_result());
        }
        let p = &self.params;
        let mut skills = vec![Some(1.0 / data.n_labels() as f64 + p.eps); data.n_workers()];
        let mut lr = p.lr_init;
        // The largest skill step is the observer's objective only: no loss history (crowd-kit
        // has none for ZBS).
        let driver = IterationLoop::new(p.n_iter, inputs.observer, started).without_loss_history();
        // One vote table for every iteration (a new one each time was 17 of 25 CPU-s in the
        // kernel at 10⁷ answers, K = 5: fresh pages to map and fault in).
        let mut votes = ndarray::Array2::<f64>::zeros((data.n_tasks(), data.n_labels()));
        let report = driver.run(|iteration| {
            if iteration % p.lr_steps_to_reduce == 0 {
                lr *= p.lr_reduce_factor;
            }
            weighted_votes_into(data, &skills, &mut votes);
            normalize_rows_in_place(&mut votes);
            let truth: Vec<_> = votes
                .rows()
                .into_iter()
                .map(|row| Some(argmax(row) as Label))
                .collect();
            let accuracy = worker_accuracy(data, &truth);
            let mut largest_step = 0.0f64;
            for (s, acc) in skills.iter_mut().zip(accuracy) {
                if let (Some(s), Some(acc)) = (s.as_mut(), acc) {
                    let step = lr * (acc - *s);
                    *s += step;
                    largest_step = largest_step.max(step.abs());
                }
            }
            Ok((largest_step, None))
        });
        let mut result =
            Aggregation::from_probabilities(normalize_rows(weighted_votes(data, &skills)));
        result.skills = Some(skills);
        result.report = report.timed(started);
        Ok(result)
    }

    fn params(&self) -> ParamReport {
        report(&self.params)
    }
}
