//! What a method needs besides the responses, declared once by the method
//! ([`Aggregator::requirements`](super::Aggregator::requirements)) and read by the registry,
//! the CLI and `evaluate`.

use crate::error::{DataError, SideInput};
use crate::responses::Responses;

use super::FitInputs;

/// Whether a method uses a side input ([`FitInputs::gold`], [`FitInputs::skills`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Use {
    /// Ignored if given.
    #[default]
    Unused,
    /// Used when given (Dawid-Skene's fixed gold tasks, a majority vote weighted by skills).
    Optional,
    /// The method cannot fit without it.
    Required,
}

impl Use {
    /// Whether the method reads the input at all.
    pub fn accepted(self) -> bool {
        self != Self::Unused
    }

    /// Whether the method cannot fit without the input.
    pub fn required(self) -> bool {
        self == Self::Required
    }
}

/// What a method needs to fit: side inputs, and the number of distinct labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Requirements {
    /// Gold labels ([`FitInputs::gold`]).
    pub gold: Use,
    /// Worker skills ([`FitInputs::skills`]).
    pub skills: Use,
    /// Exactly this many distinct labels (KOS: 2, a binary method), if set.
    pub labels: Option<usize>,
    /// At least this many distinct labels (M-MSR: 2, its agreement statistics divide by
    /// `labels − 1`), if set.
    pub min_labels: Option<usize>,
    /// The responses are label sets ([`MultiLabelResponses`](super::MultiLabelResponses),
    /// BinaryRelevance), not one label each: the method is built by
    /// [`Method::build_label_sets`](super::Method::build_label_sets), and `evaluate`, which
    /// scores single labels against gold, leaves it out.
    pub label_sets: bool,
}

impl Default for Requirements {
    fn default() -> Self {
        Self::NONE
    }
}

impl Requirements {
    /// Responses alone, any number of labels.
    pub const NONE: Self = Self {
        gold: Use::Unused,
        skills: Use::Unused,
        labels: None,
        min_labels: None,
        label_sets: false,
    };
    /// Gold labels required (GoldMajorityVote).
    pub const GOLD: Self = Self::NONE.with_gold(Use::Required);
    /// Gold labels used when given (Dawid-Skene's fixed gold tasks).
    pub const OPTIONAL_GOLD: Self = Self::NONE.with_gold(Use::Optional);
    /// Skills required (WeightedDynamicOverlap).
    pub const SKILLS: Self = Self::NONE.with_skills(Use::Required);
    /// Skills used when given (a weighted majority vote).
    pub const OPTIONAL_SKILLS: Self = Self::NONE.with_skills(Use::Optional);
    /// Exactly two labels (KOS).
    pub const BINARY: Self = Self::NONE.with_labels(2);
    /// At least two labels (M-MSR).
    pub const AT_LEAST_TWO_LABELS: Self = Self::NONE.with_min_labels(2);
    /// Label sets as responses (BinaryRelevance; its inner method's needs apply per class).
    pub const LABEL_SETS: Self = Self {
        label_sets: true,
        ..Self::NONE
    };

    /// These requirements with gold labels used as `gold` says.
    pub const fn with_gold(self, gold: Use) -> Self {
        Self { gold, ..self }
    }

    /// These requirements with skills used as `skills` says.
    pub const fn with_skills(self, skills: Use) -> Self {
        Self { skills, ..self }
    }

    /// These requirements with exactly `labels` distinct labels.
    pub const fn with_labels(self, labels: usize) -> Self {
        Self {
            labels: Some(labels),
            ..self
        }
    }

    /// These requirements with at least `labels` distinct labels.
    pub const fn with_min_labels(self, labels: usize) -> Self {
        Self {
            min_labels: Some(labels),
            ..self
        }
    }

    /// Checks `data` and `inputs` against the requirements: a typed error before fitting
    /// ([`DataError::MissingInput`], then as [`Requirements::check_labels`]). An empty table
    /// meets every requirement: its result is empty, as crowd-kit's.
    pub fn check(
        &self,
        method: &'static str,
        data: &Responses,
        inputs: &FitInputs<'_>,
    ) -> Result<(), DataError> {
        if data.is_empty() {
            return Ok(());
        }
        let missing = [
            (self.gold, inputs.gold.is_some(), SideInput::Gold),
            (self.skills, inputs.skills.is_some(), SideInput::Skills),
        ];
        if let Some(&(_, _, input)) = missing.iter().find(|(u, given, _)| u.required() && !given) {
            return Err(DataError::MissingInput { method, input });
        }
        self.check_labels(method, data)
    }

    /// Checks the number of distinct labels of `data` ([`DataError::WrongLabelCount`],
    /// [`DataError::TooFewLabels`]); an empty table passes. The one place the label counts
    /// are checked: [`Requirements::check`] before a fit, and the methods that declare a count
    /// (KOS, M-MSR) inside their own fit, so a direct
    /// [`Aggregator::aggregate`](super::Aggregator::aggregate) is checked too.
    pub fn check_labels(&self, method: &'static str, data: &Responses) -> Result<(), DataError> {
        let found = data.n_labels();
        if data.is_empty() {
            return Ok(());
        }
        match (self.labels, self.min_labels) {
            (Some(expected), _) if found != expected => Err(DataError::WrongLabelCount {
                method,
                expected,
                found,
            }),
            (_, Some(min)) if found < min => Err(DataError::TooFewLabels { method, min, found }),
            _ => Ok(()),
        }
    }
}
