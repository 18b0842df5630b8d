//! Majority vote and its skill-weighted relatives: `MajorityVote`, `GoldMajorityVote`, `Wawa`.

use crate::aggregation::{Aggregation, FitReport};
use crate::error::{DataError, ParamsError, Result, SideInput};
use crate::responses::{Label, LabelCounts, Responses};

use super::params::{ParamReport, Params, out_of_range, report};
use super::votes::{
    Tally, tally, tally_counts, worker_accuracy, worker_accuracy_on_all,
    worker_accuracy_on_majority,
};
use super::{Aggregator, FitInputs};
use ndarray::Array2;

/// What weighted voting does with a worker who has no skill.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum MissingSkill {
    /// Fail with [`DataError::MissingSkill`] (crowd-kit's default).
    #[default]
    Error,
    /// Use this skill instead.
    Value(f64),
    /// Drop that worker's responses; a task left without responses is an error.
    Ignore,
}

/// The `on_missing_skill` key: [`MissingSkill`] without its value, which is the
/// `default_skill` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnMissingSkill {
    /// [`MissingSkill::Error`].
    Error,
    /// [`MissingSkill::Value`] with `default_skill`.
    Value,
    /// [`MissingSkill::Ignore`].
    Ignore,
}

impl MissingSkill {
    /// The policy from its two keys. Without `on_missing_skill`, a `default_skill` means
    /// `value` (as crowd-kit, where a default skill only goes with it), else `error`; with
    /// `error` or `ignore` a `default_skill` is unused.
    pub(crate) fn from_keys(
        policy: Option<OnMissingSkill>,
        default_skill: Option<f64>,
    ) -> Result<Self, ParamsError> {
        let checked = match (policy, default_skill) {
            (None | Some(OnMissingSkill::Value), Some(v)) => Self::Value(v),
            (Some(OnMissingSkill::Value), None) => Self::Value(f64::NAN),
            (Some(OnMissingSkill::Ignore), _) => Self::Ignore,
            (None | Some(OnMissingSkill::Error), _) => Self::Error,
        };
        match checked {
            Self::Value(v) if !v.is_finite() => Err(out_of_range(
                "default_skill",
                "a finite number (required with on_missing_skill=value)",
                v,
            )),
            other => Ok(other),
        }
    }

    /// The two keys of this policy (`default_skill` only with `value`).
    pub(crate) fn keys(self) -> (Option<OnMissingSkill>, Option<f64>) {
        match self {
            Self::Error => (Some(OnMissingSkill::Error), None),
            Self::Value(v) => (Some(OnMissingSkill::Value), Some(v)),
            Self::Ignore => (Some(OnMissingSkill::Ignore), None),
        }
    }

    /// Per-worker weights from resolved skills under this policy.
    pub(crate) fn apply(
        self,
        data: &Responses,
        skills: Vec<Option<f64>>,
    ) -> Result<Vec<Option<f64>>> {
        let weights: Vec<Option<f64>> = match self {
            Self::Error => {
                if let Some(w) = skills.iter().position(Option::is_none) {
                    return Err(DataError::MissingSkill {
                        worker: data.worker_name(w).to_string(),
                    }
                    .into());
                }
                skills
            }
            Self::Value(default) => skills.into_iter().map(|s| s.or(Some(default))).collect(),
            Self::Ignore => skills,
        };
        let by_task = data.by_task();
        for t in 0..data.n_tasks() {
            if by_task
                .row(t)
                .0
                .iter()
                .all(|&w| weights[w as usize].is_none())
            {
                return Err(DataError::TaskWithoutSkilledWorkers {
                    task: data.task_name(t).to_string(),
                }
                .into());
            }
        }
        Ok(weights)
    }
}

/// Weighted vote, then the crowd-kit outputs: probabilities = normalised votes, label = most
/// voted (ties to the smallest label), skills = `skills` when the caller has the ones its
/// weights came from (Wawa, gold majority vote: the result reports those), else each worker's
/// agreement with the labels (not computed when given: a pass over every response). With
/// `labels_only` ([`FitInputs::labels_only`]), no probabilities, and no agreement skills.
fn vote(
    data: &Responses,
    weights: Option<&[Option<f64>]>,
    skills: Option<Vec<Option<f64>>>,
    labels_only: bool,
) -> Aggregation {
    let Tally {
        probabilities,
        labels,
        confidence,
    } = tally(data, weights, !labels_only);
    let probabilities = probabilities.map(|values| {
        Array2::from_shape_vec((data.n_tasks(), data.n_labels()), values)
            .expect("tally: one row of n_labels per task")
    });
    let skills = match (skills, labels_only) {
        (Some(skills), _) => Some(skills),
        (None, true) => None,
        (None, false) => Some(worker_accuracy_on_all(data, &labels)),
    };
    voted(labels, probabilities, confidence, skills)
}

/// The [`Aggregation`] of a vote (no scores, error matrices or priors; not iterative).
fn voted(
    labels: Vec<Label>,
    probabilities: Option<Array2<f64>>,
    confidence: Vec<f64>,
    skills: Option<Vec<Option<f64>>>,
) -> Aggregation {
    Aggregation {
        skills,
        labels,
        probabilities,
        scores: None,
        confidence,
        errors: None,
        priors: None,
        report: FitReport::not_iterative(),
    }
}

/// A method whose only parameter is its [`MissingSkill`] policy: the method (a struct
/// `{ on_missing_skill: MissingSkill }`), its parameters struct (`on_missing_skill` and
/// `default_skill`, serde-named `$name`), `params()`, the `on_missing_skill` setter and the
/// [`Params`] check.
macro_rules! missing_skill_method {
    (
        $(#[$method_meta:meta])*
        $method:ident;
        $(#[$params_meta:meta])*
        $params:ident as $name:literal;
        $setter_doc:literal
    ) => {
        $(#[$method_meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq)]
        pub struct $method {
            on_missing_skill: MissingSkill,
        }

        $(#[$params_meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(rename = $name, default, deny_unknown_fields)]
        pub struct $params {
            /// What to do with a worker who has no skill when skills are given (see
            /// [`MissingSkill`]; unset: `error`, or `value` when `default_skill` is given).
            pub on_missing_skill: Option<OnMissingSkill>,
            /// The skill of workers without one, with `on_missing_skill=value`.
            pub default_skill: Option<f64>,
        }

        impl $method {
            /// The default parameters, to adjust and then [`check`](Params::check) into a
            #[doc = concat!("[`", stringify!($method), "`].")]
            pub fn params() -> $params {
                $params::default()
            }
        }

        impl $params {
            #[doc = $setter_doc]
            pub fn on_missing_skill(self, policy: MissingSkill) -> Self {
                let (on_missing_skill, default_skill) = policy.keys();
                Self {
                    on_missing_skill,
                    default_skill,
                }
            }
        }

        impl Params for $params {
            type Checked = $method;

            fn check(self) -> Result<$method, ParamsError> {
                let on_missing_skill =
                    MissingSkill::from_keys(self.on_missing_skill, self.default_skill)?;
                Ok($method { on_missing_skill })
            }
        }
    };
}

missing_skill_method! {
/// Majority vote (crowd-kit `MajorityVote`).
///
/// score(t, c) = Σ_{r ∈ t, y_r = c} s_{w(r)} with s ≡ 1 without skills; duplicates count.
/// P(t, c) = score(t, c) / Σ_c' score(t, c'); label = argmax, ties to the smallest label
/// (label order rule, as crowd-kit on pandas ≤ 2). `skills` = each worker's fraction of
/// (distinct) answers equal to the aggregate.
///
/// With skills (from [`FitInputs::skills`]) a worker without one is handled by
/// [`MissingSkill`]. A task whose weights sum to 0 gets uniform probabilities (crowd-kit: NaN).
///
/// # Example
///
/// Four workers label five tasks `no` or `yes`.
///
/// ```
/// use crowdagg::{Aggregator, MajorityVote, Responses};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "no"), ("t1", "w2", "no"), ("t1", "w3", "no"), ("t1", "w4", "yes"),
///     ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "no"), ("t2", "w4", "yes"),
///     ("t3", "w1", "no"), ("t3", "w2", "no"), ("t3", "w3", "yes"), ("t3", "w4", "no"),
///     ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"),
///     ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "yes"), ("t5", "w4", "yes"),
/// ])?;
/// let result = MajorityVote::default().aggregate(&data)?;
/// let (t5, yes) = (data.task_id("t5").unwrap(), data.label_id("yes").unwrap());
/// assert_eq!(result.labels[t5], yes);
/// // By hand: three of t5's four votes are `yes`.
/// assert!((result.confidence[t5] - 3.0 / 4.0).abs() < 1e-12);
/// // By hand: w3 agrees with the majority on t1, t4 and t5, not on t2 and t3: 3/5.
/// let w3 = data.worker_id("w3").unwrap();
/// assert!((result.skills.as_ref().unwrap()[w3].unwrap() - 3.0 / 5.0).abs() < 1e-12);
/// # Ok::<(), crowdagg::Error>(())
/// ```
    MajorityVote;
    /// Parameters of [`MajorityVote`] (read and reported as described in [`Params`]).
    MajorityVoteParams as "MajorityVote";
    "Sets the policy for workers without a skill."
}

impl MajorityVote {
    /// Majority vote from label counts ([`crate::io::read_label_counts`],
    /// [`LabelCounts::from_responses`]): the labels, confidences and (unless `labels_only`)
    /// probabilities of [`Aggregator::aggregate`] on the responses counted, the same bits. No
    /// skills: a worker's agreement with the majority needs the responses themselves, as do
    /// weights (given skills).
    pub fn aggregate_counts(&self, counts: &LabelCounts, labels_only: bool) -> Aggregation {
        if counts.is_empty() {
            return super::empty_result();
        }
        let Tally {
            probabilities,
            labels,
            confidence,
        } = tally_counts(counts, !labels_only);
        let probabilities = probabilities.map(|values| {
            Array2::from_shape_vec((counts.n_tasks(), counts.n_labels()), values)
                .expect("tally_counts: one row of n_labels per task")
        });
        voted(labels, probabilities, confidence, None)
    }
}

impl Aggregator for MajorityVote {
    fn name(&self) -> &'static str {
        "MajorityVote"
    }

    fn aggregate_with(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation> {
        if data.is_empty() {
            return Ok(super::empty_result());
        }
        match inputs.skills {
            None => Ok(vote(data, None, None, inputs.labels_only)),
            Some(skills) => {
                let weights = self.on_missing_skill.apply(data, skills.resolve(data)?)?;
                let mut result = vote(data, Some(&weights), None, inputs.labels_only);
                // As crowd-kit: the responses of workers without a weight (ignored) are
                // dropped before the vote, so those workers get no skill either.
                if let Some(skills) = &mut result.skills {
                    for (skill, weight) in skills.iter_mut().zip(&weights) {
                        if weight.is_none() {
                            *skill = None;
                        }
                    }
                }
                Ok(result)
            }
        }
    }

    fn params(&self) -> ParamReport {
        report(&MajorityVoteParams::default().on_missing_skill(self.on_missing_skill))
    }
}

missing_skill_method! {
/// Majority vote weighted by accuracy on gold tasks (crowd-kit `GoldMajorityVote`).
///
/// s_w = fraction of w's distinct answers to gold tasks that equal the gold label; then
/// weighted [`MajorityVote`] with s. Needs [`FitInputs::gold`]. A worker with no gold answer
/// has no skill: by default an error, as in crowd-kit; see [`MissingSkill`].
/// `skills` in the result are the gold accuracies (`None` for workers without gold answers).
///
/// # Example
///
/// ```
/// use crowdagg::{Aggregator, FitInputs, Gold, GoldMajorityVote, Responses};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "no"), ("t1", "w2", "no"), ("t1", "w3", "no"), ("t1", "w4", "yes"),
///     ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "no"), ("t2", "w4", "yes"),
///     ("t3", "w1", "no"), ("t3", "w2", "no"), ("t3", "w3", "yes"), ("t3", "w4", "no"),
///     ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"),
///     ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "yes"), ("t5", "w4", "yes"),
/// ])?;
/// let gold: Gold = [("t1", "no"), ("t2", "yes")].into_iter().collect();
/// let result = GoldMajorityVote::default().aggregate_with(&data, FitInputs::default().gold(&gold))?;
/// // By hand: on the gold tasks w1 and w2 are right twice (skill 1), w3 and w4 once (0.5).
/// // t5: `yes` from w1, w3, w4 weighs 1 + 0.5 + 0.5 = 2, `no` from w2 weighs 1: P(yes) = 2/3.
/// let (t5, yes) = (data.task_id("t5").unwrap(), data.label_id("yes").unwrap());
/// assert_eq!(result.labels[t5], yes);
/// assert!((result.confidence[t5] - 2.0 / 3.0).abs() < 1e-12);
/// # Ok::<(), crowdagg::Error>(())
/// ```
    GoldMajorityVote;
    /// Parameters of [`GoldMajorityVote`]: those of [`MajorityVoteParams`], for workers who
    /// answered no gold task (and so have no skill).
    GoldMajorityVoteParams as "GoldMajorityVote";
    "Sets the policy for workers without a gold answer."
}

impl Aggregator for GoldMajorityVote {
    fn name(&self) -> &'static str {
        "GoldMajorityVote"
    }

    fn aggregate_with(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation> {
        if data.is_empty() {
            return Ok(super::empty_result());
        }
        let gold = inputs.gold.ok_or(DataError::MissingInput {
            method: "GoldMajorityVote",
            input: SideInput::Gold,
        })?;
        gold.check_overlap(data)?;
        let truth = gold.resolve(data)?;
        let skills = worker_accuracy(data, &truth);
        let weights = self.on_missing_skill.apply(data, skills.clone())?;
        Ok(vote(data, Some(&weights), Some(skills), inputs.labels_only))
    }

    fn params(&self) -> ParamReport {
        report(&GoldMajorityVoteParams::default().on_missing_skill(self.on_missing_skill))
    }
}

/// Worker Agreement With Aggregate (crowd-kit `Wawa`).
///
/// s_w = fraction of w's distinct answers equal to the unweighted majority vote; then
/// weighted [`MajorityVote`] with s. `skills` in the result are these s.
///
/// # Example
///
/// ```
/// use crowdagg::{Aggregator, Responses, Wawa};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "no"), ("t1", "w2", "no"), ("t1", "w3", "no"), ("t1", "w4", "yes"),
///     ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "no"), ("t2", "w4", "yes"),
///     ("t3", "w1", "no"), ("t3", "w2", "no"), ("t3", "w3", "yes"), ("t3", "w4", "no"),
///     ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"),
///     ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "yes"), ("t5", "w4", "yes"),
/// ])?;
/// let result = Wawa.aggregate(&data)?;
/// // By hand: agreement with the plain majority vote (no, yes, no, yes, yes) gives the skills
/// // w1 5/5, w2 4/5, w3 3/5, w4 4/5. t2: `yes` from w1, w2, w4 weighs 1 + 0.8 + 0.8 = 2.6,
/// // `no` from w3 weighs 0.6: P(yes) = 2.6 / 3.2 = 0.8125 (crowd-kit's Wawa gives the same).
/// let (t2, yes) = (data.task_id("t2").unwrap(), data.label_id("yes").unwrap());
/// assert_eq!(result.labels[t2], yes);
/// assert!((result.confidence[t2] - 0.8125).abs() < 1e-12);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Wawa;

/// Wawa has no parameters: it is its own parameter type.
impl Params for Wawa {
    type Checked = Wawa;

    fn check(self) -> Result<Wawa, ParamsError> {
        Ok(self)
    }
}

impl Aggregator for Wawa {
    fn name(&self) -> &'static str {
        "Wawa"
    }

    fn aggregate_with(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation> {
        if data.is_empty() {
            return Ok(super::empty_result());
        }
        // The first vote's labels alone, taken as its workers' agreement is counted.
        let weights = worker_accuracy_on_majority(data);
        let skills = weights.clone();
        Ok(vote(data, Some(&weights), Some(skills), inputs.labels_only))
    }

    fn params(&self) -> ParamReport {
        Vec::new()
    }
}
