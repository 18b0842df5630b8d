//! Toloka's aggregation by skill (`WEIGHTED_DYNAMIC_OVERLAP`).

use rayon::prelude::*;

use crate::aggregation::{Aggregation, FitReport};
use crate::error::{DataError, ParamsError, Result, SideInput};
use crate::responses::{Label, Responses};

use super::majority_vote::{MissingSkill, OnMissingSkill};
use super::params::{ParamReport, Params, out_of_range, report};
use super::votes::compensated_add;
use super::{Aggregator, FitInputs};

/// Weighted dynamic overlap, Toloka's "aggregation by skill", exactly as Toloka documents it
/// (guide, *result-aggregation#aggr-by-skill*; see `specs/toloka-api.md` §4.1).
///
/// Each response r carries q_r = skill/100 of its worker (skills from [`FitInputs::skills`],
/// on Toloka's 0..=100 scale). For task t:
///
/// * **answer** j = argmax_x Σ_{r ∈ t, y_r = x} q_r — the largest *summed skill*, not the largest
///   posterior; ties go to the smallest label (label order rule);
/// * **confidence** = z(j) / Σ_{x ∈ options} z(x), with
///   z(x) = Π_{r ∈ t} (q_r if y_r = x else (1 − q_r)/(Y − 1)), the sum running over all Y
///   options, including options nobody chose (uniform prior 1/Y cancels).
///
/// Y is the size of the answer domain: `domain` (the allowed values) or `options` (a count),
/// else the number of distinct labels in the data. With Y = 1 the confidence is 1.
///
/// Choices the documentation leaves open (documented here, tested in `tests/it/wdo.rs`):
/// * skills must be in 0..=100 (else [`DataError::SkillOutOfRange`]), after multiplying by
///   `skill_scale` (`skill_scale=100` takes skills written as fractions, 0.85); with
///   `skill_scale` left unset, skills that are all ≤ 1 are refused
///   ([`DataError::SkillsLookLikeFractions`]): on the 0..=100 scale they would be near-useless
///   workers, which is rarely what was meant;
/// * a worker without a skill: [`MissingSkill`] (default: error; `value` uses that skill;
///   `ignore` drops the worker's responses);
/// * skill 0 or 100 is certainty. When certain workers contradict each other every z(x) is 0
///   and the formula is 0/0; the confidence is then its limit as those skills tend to 0 or 100
///   from inside (only the options with the fewest contradictions keep weight).
///
/// `skills` in the result are the q = skill/100 used; there is no probability matrix.
///
/// # Example
///
/// ```
/// use crowdagg::{Aggregator, FitInputs, Responses, Skills, WeightedDynamicOverlap};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "no"), ("t1", "w2", "no"), ("t1", "w3", "no"), ("t1", "w4", "yes"),
///     ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "no"), ("t2", "w4", "yes"),
///     ("t3", "w1", "no"), ("t3", "w2", "no"), ("t3", "w3", "yes"), ("t3", "w4", "no"),
///     ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"),
///     ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "yes"), ("t5", "w4", "yes"),
/// ])?;
/// // Toloka skills, 0..=100.
/// let skills: Skills = [("w1", 90.0), ("w2", 80.0), ("w3", 60.0), ("w4", 70.0)]
///     .into_iter()
///     .collect();
/// let result = WeightedDynamicOverlap::default()
///     .aggregate_with(&data, FitInputs::default().skills(&skills))?;
/// let (t1, no) = (data.task_id("t1").unwrap(), data.label_id("no").unwrap());
/// assert_eq!(result.labels[t1], no);
/// // By hand, Y = 2: t1 is `no` from w1, w2, w3 and `yes` from w4, so
/// // z(no) = 0.9 · 0.8 · 0.6 · 0.3 = 0.1296, z(yes) = 0.1 · 0.2 · 0.4 · 0.7 = 0.0056 and
/// // confidence = 0.1296 / (0.1296 + 0.0056) = 162/169.
/// assert!((result.confidence[t1] - 162.0 / 169.0).abs() < 1e-12);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WeightedDynamicOverlap {
    params: WeightedDynamicOverlapParams,
    on_missing_skill: MissingSkill,
}

/// Parameters of [`WeightedDynamicOverlap`] (read and reported as described in [`Params`]).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename = "WeightedDynamicOverlap", default, deny_unknown_fields)]
pub struct WeightedDynamicOverlapParams {
    /// The field's allowed values; Y = their number. Every label must be one of them.
    pub domain: Option<Vec<String>>,
    /// Y given as a number (e.g. max − min + 1 of an integer field).
    pub options: Option<usize>,
    /// What to do with a worker who has no skill (as [`MajorityVoteParams`](super::MajorityVoteParams)).
    pub on_missing_skill: Option<OnMissingSkill>,
    /// The skill of workers without one, with `on_missing_skill=value` (in 0..=100 after
    /// `skill_scale`). Not reported.
    #[serde(skip_serializing)]
    pub default_skill: Option<f64>,
    /// Multiplies every skill (and `default_skill`) before use: `100` for skills written as
    /// fractions of 1. `None` (default) means 1, and refuses skills that are all ≤ 1
    /// (reported as 1).
    #[serde(serialize_with = "scale_or_one")]
    pub skill_scale: Option<f64>,
}

fn scale_or_one<S: serde::Serializer>(scale: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(scale.unwrap_or(1.0))
}

impl WeightedDynamicOverlap {
    /// The default parameters (Y from the data, workers without a skill are an error), to
    /// adjust and then [`check`](Params::check) into a [`WeightedDynamicOverlap`].
    pub fn params() -> WeightedDynamicOverlapParams {
        WeightedDynamicOverlapParams::default()
    }
}

impl WeightedDynamicOverlapParams {
    /// Sets the answer domain (distinct, non-empty values); Y = their number.
    pub fn domain<S: Into<String>>(mut self, values: impl IntoIterator<Item = S>) -> Self {
        self.domain = Some(values.into_iter().map(Into::into).collect());
        self
    }

    /// Sets Y directly (≥ 1), for when the values are not listed.
    pub fn options(mut self, y: usize) -> Self {
        self.options = Some(y);
        self
    }

    /// Sets the policy for workers without a skill.
    pub fn on_missing_skill(self, policy: MissingSkill) -> Self {
        let (on_missing_skill, default_skill) = policy.keys();
        Self {
            on_missing_skill,
            default_skill,
            ..self
        }
    }

    /// Multiplies skills by `scale` (`100.0` for fractions of 1); see the `skill_scale` field.
    pub fn skill_scale(mut self, scale: f64) -> Self {
        self.skill_scale = Some(scale);
        self
    }
}

impl Params for WeightedDynamicOverlapParams {
    type Checked = WeightedDynamicOverlap;

    fn check(self) -> Result<WeightedDynamicOverlap, ParamsError> {
        if self.domain.is_some() && self.options.is_some() {
            return Err(ParamsError::Exclusive {
                first: "domain",
                second: "options",
            });
        }
        if self.options == Some(0) {
            return Err(out_of_range("options", "at least 1", 0));
        }
        if let Some(domain) = &self.domain {
            let mut sorted: Vec<&String> = domain.iter().collect();
            sorted.sort();
            if domain.is_empty() || sorted.iter().any(|v| v.is_empty()) {
                return Err(out_of_range(
                    "domain",
                    "a list of non-empty values",
                    domain.join(","),
                ));
            }
            if sorted.windows(2).any(|p| p[0] == p[1]) {
                return Err(out_of_range(
                    "domain",
                    "a list of distinct values",
                    domain.join(","),
                ));
            }
        }
        if let Some(scale) = self.skill_scale
            && !(scale.is_finite() && scale > 0.0)
        {
            return Err(out_of_range("skill_scale", "a finite number > 0", scale));
        }
        let scale = self.skill_scale.unwrap_or(1.0);
        let on_missing_skill = MissingSkill::from_keys(self.on_missing_skill, self.default_skill)?;
        if let MissingSkill::Value(v) = on_missing_skill
            && !(0.0..=100.0).contains(&(v * scale))
        {
            return Err(out_of_range(
                "default_skill",
                "in 0..=100 (after skill_scale)",
                v,
            ));
        }
        Ok(WeightedDynamicOverlap {
            params: self.on_missing_skill(on_missing_skill),
            on_missing_skill,
        })
    }
}

impl WeightedDynamicOverlap {
    /// Y for this data, checking that the data's labels fit the declared domain.
    fn answer_options(&self, data: &Responses) -> Result<usize> {
        let k = data.n_labels();
        if let Some(domain) = &self.params.domain {
            for label in data.label_names() {
                if !domain.iter().any(|v| v == label) {
                    return Err(DataError::LabelOutsideDomain {
                        label: label.to_string(),
                        domain: domain.len(),
                    }
                    .into());
                }
            }
            return Ok(domain.len());
        }
        match self.params.options {
            Some(y) if y < k => Err(DataError::TooFewOptions {
                options: y,
                labels: k,
            }
            .into()),
            Some(y) => Ok(y),
            None => Ok(k),
        }
    }
}

impl Aggregator for WeightedDynamicOverlap {
    fn name(&self) -> &'static str {
        "WeightedDynamicOverlap"
    }

    fn aggregate_with(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation> {
        if data.is_empty() {
            return Ok(Aggregation {
                probabilities: None,
                ..super::empty_result()
            });
        }
        let skills = inputs.skills.ok_or(DataError::MissingInput {
            method: "WeightedDynamicOverlap",
            input: SideInput::Skills,
        })?;
        let scale = self.params.skill_scale.unwrap_or(1.0);
        let mut resolved = skills.resolve(data)?;
        if self.params.skill_scale.is_none() {
            let given = || resolved.iter().flatten().copied();
            if given().next().is_some() && given().all(|v| v <= 1.0) {
                return Err(DataError::SkillsLookLikeFractions {
                    largest: given().fold(f64::NEG_INFINITY, f64::max),
                }
                .into());
            }
        }
        for (w, s) in resolved.iter_mut().enumerate() {
            if let Some(v) = s {
                *v *= scale;
                if !(0.0..=100.0).contains(v) {
                    return Err(DataError::SkillOutOfRange {
                        worker: data.worker_name(w).to_string(),
                        value: *v,
                    }
                    .into());
                }
            }
        }
        let on_missing_skill = match self.on_missing_skill {
            MissingSkill::Value(v) => MissingSkill::Value(v * scale),
            other => other,
        };
        let skills = on_missing_skill.apply(data, resolved)?;
        let y = self.answer_options(data)?;
        let by_task = data.by_task();
        let (labels, confidence): (Vec<Label>, Vec<f64>) = (0..data.n_tasks())
            .into_par_iter()
            .with_min_len(1024)
            .map_init(
                || TaskScratch::new(data.n_labels()),
                |scratch, t| {
                    let (workers, answers) = by_task.row(t);
                    scratch.task(workers, answers, &skills, y)
                },
            )
            .unzip();
        Ok(Aggregation {
            labels,
            probabilities: None,
            scores: None,
            confidence,
            skills: Some(skills.iter().map(|s| s.map(|v| v / 100.0)).collect()),
            errors: None,
            priors: None,
            report: FitReport::not_iterative(),
        })
    }

    fn params(&self) -> ParamReport {
        report(&self.params)
    }
}

/// Per-label accumulators for one task, reused across tasks.
struct TaskScratch {
    /// Σ skill per label on Toloka's 0..=100 scale, compensated (Neumaier) in `compensation`:
    /// integer skills sum exactly, so the winner never depends on the order of the workers.
    summed_skill: Vec<f64>,
    compensation: Vec<f64>,
    /// ln of the product of non-vanishing factors of z(x), minus the common "answered
    /// something else" part, which is kept in `TaskScratch::task`'s `base`.
    log_gain: Vec<f64>,
    /// Factors of z(x) that are exactly 0 (certain workers contradicting x).
    zeros: Vec<i64>,
    seen: Vec<bool>,
    touched: Vec<Label>,
    terms: Vec<(f64, f64)>,
}

impl TaskScratch {
    fn new(k: usize) -> Self {
        Self {
            summed_skill: vec![0.0; k],
            compensation: vec![0.0; k],
            log_gain: vec![0.0; k],
            zeros: vec![0; k],
            seen: vec![false; k],
            touched: Vec::new(),
            terms: Vec::new(),
        }
    }

    /// (answer, confidence) of one task.
    fn task(
        &mut self,
        workers: &[u32],
        answers: &[Label],
        skills: &[Option<f64>],
        y: usize,
    ) -> (Label, f64) {
        // Every option x shares the factors "(1 − q)/(Y − 1)" of all responses; the responses
        // that chose x swap theirs for q. Track ln and exact-zero counts separately.
        let spread = ((y.max(2) - 1) as f64).ln();
        let (mut base_log, mut base_zeros) = (0.0f64, 0i64);
        for (&w, &x) in workers.iter().zip(answers) {
            let Some(skill) = skills[w as usize] else {
                continue;
            };
            let qr = skill / 100.0;
            let x = x as usize;
            if !self.seen[x] {
                self.seen[x] = true;
                self.touched.push(x as Label);
            }
            compensated_add(&mut self.summed_skill[x], &mut self.compensation[x], skill);
            // "other" factor (1 − q)/(Y − 1): zero when q = 1, kept as ln(1/(Y − 1)) then.
            let (other_log, other_zero) = if qr >= 1.0 {
                (-spread, 1)
            } else {
                ((1.0 - qr).ln() - spread, 0)
            };
            // "chosen" factor q: zero when q = 0, kept as ln 1 then.
            let (chosen_log, chosen_zero) = if qr <= 0.0 { (0.0, 1) } else { (qr.ln(), 0) };
            base_log += other_log;
            base_zeros += other_zero;
            self.log_gain[x] += chosen_log - other_log;
            self.zeros[x] += chosen_zero - other_zero;
        }
        self.touched.sort_unstable();
        // Answer: largest summed skill, ties to the smallest label.
        let total = |x: Label| self.summed_skill[x as usize] + self.compensation[x as usize];
        let mut answer = self.touched[0];
        for &x in &self.touched {
            if total(x) > total(answer) {
                answer = x;
            }
        }
        let confidence = if y <= 1 {
            1.0
        } else {
            // Options: the touched labels, plus (Y − touched) untouched ones sharing the base.
            let untouched = (y - self.touched.len()) as f64;
            let option = |x: Label| {
                (
                    base_zeros + self.zeros[x as usize],
                    base_log + self.log_gain[x as usize],
                )
            };
            let mut fewest = if untouched > 0.0 {
                base_zeros
            } else {
                i64::MAX
            };
            for &x in &self.touched {
                fewest = fewest.min(option(x).0);
            }
            let terms = &mut self.terms;
            terms.clear();
            for &x in &self.touched {
                let (zeros, log) = option(x);
                if zeros == fewest {
                    terms.push((log, 1.0));
                }
            }
            if untouched > 0.0 && base_zeros == fewest {
                terms.push((base_log, untouched));
            }
            let (zeros, log) = option(answer);
            if zeros != fewest {
                0.0
            } else {
                let top = terms.iter().map(|t| t.0).fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = terms.iter().map(|(l, m)| m * (l - top).exp()).sum();
                (log - top).exp() / total
            }
        };
        for &x in &self.touched {
            self.summed_skill[x as usize] = 0.0;
            self.compensation[x as usize] = 0.0;
            self.log_gain[x as usize] = 0.0;
            self.zeros[x as usize] = 0;
            self.seen[x as usize] = false;
        }
        self.touched.clear();
        (answer, confidence)
    }
}
