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

    /// Checks `data` and `inputs` against the requirements: a typed error before fitting
    /// ([`DataError::MissingInput`], [`DataError::WrongLabelCount`]). An empty table meets
    /// every requirement: its result is empty, as crowd-kit's.
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
        match self.labels {
            Some(expected) if data.n_labels() != expected => Err(DataError::WrongLabelCount {
                method,
                expected,
                found: data.n_labels(),
            }),
            _ => Ok(()),
        }
    }
}
