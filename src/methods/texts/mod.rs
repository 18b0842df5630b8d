//! Aggregation of free texts: [`Rover`] merges the texts of a task token by token (on
//! [`TextResponses`]); [`TextRasa`] and [`TextHrrasa`] pick one of them by its embedding (on
//! [`EmbeddingResponses`] whose outputs are the texts: crowd-kit's classes encode the texts
//! with a sentence encoder first, here the embeddings are given).

mod rover;

pub use rover::{Detokenizer, Rover, RoverParams, Tokenizer};

use super::embeddings::{
    EmbeddingAggregation, EmbeddingAggregator, Hrrasa, HrrasaParams, Rasa, RasaParams,
};
use crate::aggregation::{FitReport, Observer};
use crate::embeddings::{EmbeddingResponses, TrueEmbeddings};
use crate::error::{ParamsError, Result};
use crate::texts::TextResponses;

/// What a text method returns: one text per task (crowd-kit's `texts_`).
#[derive(Debug, Clone, PartialEq)]
pub struct TextAggregation {
    /// The aggregated text of each task, by task id.
    pub texts: Vec<String>,
    /// How the fit went (ROVER is not iterative; [`StopReason::Interrupted`](crate::StopReason)
    /// when an observer stopped it).
    pub report: FitReport,
}

/// A method merging texts, with validated parameters.
pub trait TextAggregator: Send + Sync {
    /// crowd-kit's class name (`"ROVER"`).
    fn name(&self) -> &'static str;

    /// Aggregates the texts of every task, calling `observer` after each block of tasks: an
    /// [`Action::Stop`](crate::Action) ends the fit after that block with
    /// [`StopReason::Interrupted`](crate::StopReason::Interrupted), and `texts` then holds
    /// the tasks merged, task ids `0..texts.len()`.
    ///
    /// # Errors
    /// None for ROVER at present (the `Result` is the family's contract).
    fn fit_observed(
        &self,
        data: &TextResponses,
        observer: Option<&dyn Observer>,
    ) -> Result<TextAggregation>;

    /// Aggregates the texts of every task.
    ///
    /// # Errors
    /// As [`TextAggregator::fit_observed`].
    fn fit(&self, data: &TextResponses) -> Result<TextAggregation> {
        self.fit_observed(data, None)
    }
}

/// What [`TextRasa`] and [`TextHrrasa`] add to the embedding method they wrap (their `inner`):
/// defaults, `params()` and the [`EmbeddingAggregator`] impl, which fits the inner method.
macro_rules! text_method {
    ($method:ident, $params:ident, $name:literal) => {
        impl Default for $method {
            fn default() -> Self {
                $params::default().check().expect("the defaults are valid")
            }
        }

        impl $method {
            /// Default parameters, to adjust and [`check`]($params::check).
            pub fn params() -> $params {
                $params::default()
            }
        }

        impl EmbeddingAggregator for $method {
            fn name(&self) -> &'static str {
                $name
            }

            fn fit_observed(
                &self,
                data: &EmbeddingResponses,
                true_embeddings: Option<&TrueEmbeddings>,
                observer: Option<&dyn Observer>,
            ) -> Result<EmbeddingAggregation> {
                self.inner.fit_observed(data, true_embeddings, observer)
            }
        }
    };
}

super::embeddings::rasa_params! {
    /// [`TextRasa`]'s parameters: [`RasaParams`] with crowd-kit `TextRASA`'s default
    /// `tol = 1e-5` (not RASA's 1e-9).
    TextRasaParams { tol: 1e-5 }
}

impl TextRasaParams {
    /// Validates the parameters into the method.
    ///
    /// # Errors
    /// As [`RasaParams::check`].
    pub fn check(self) -> Result<TextRasa, ParamsError> {
        let inner = RasaParams {
            n_iter: self.n_iter,
            tol: self.tol,
            alpha: self.alpha,
        }
        .check()?;
        Ok(TextRasa { inner })
    }
}

/// **TextRASA** (crowd-kit `TextRASA`): [`Rasa`] on texts with their embeddings; the output of
/// each row is its text, and the chosen output is the task's text. crowd-kit computes the
/// embeddings with an encoder callable; here they are an input (e.g. a `text,embedding` CSV
/// read by [`io::read_embeddings`](crate::io::read_embeddings) with the output column set to
/// `text`).
///
/// ```
/// use crowdagg::{EmbeddingAggregator, EmbeddingResponses, TextRasa};
///
/// let data = EmbeddingResponses::from_rows([
///     ("t1", "w1", "a cat", [1.0, 0.1]),
///     ("t1", "w2", "a cat", [1.0, 0.0]),
///     ("t1", "w3", "the dog", [0.0, 1.0]),
/// ])?;
/// let fit = TextRasa::default().fit(&data)?;
/// assert_eq!(fit.outputs(&data), ["a cat"]);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextRasa {
    inner: Rasa,
}

text_method!(TextRasa, TextRasaParams, "TextRASA");

super::embeddings::rasa_params! {
    /// [`TextHrrasa`]'s parameters: [`HrrasaParams`] with crowd-kit `TextHRRASA`'s default
    /// `tol = 1e-5` (not HRRASA's 1e-9).
    TextHrrasaParams { tol: 1e-5, hybrid }
}

impl TextHrrasaParams {
    /// Validates the parameters into the method.
    ///
    /// # Errors
    /// As [`HrrasaParams::check`].
    pub fn check(self) -> Result<TextHrrasa, ParamsError> {
        let inner = HrrasaParams {
            n_iter: self.n_iter,
            tol: self.tol,
            lambda_emb: self.lambda_emb,
            lambda_out: self.lambda_out,
            alpha: self.alpha,
            output_similarity: self.output_similarity,
        }
        .check()?;
        Ok(TextHrrasa { inner })
    }
}

/// **TextHRRASA** (crowd-kit `TextHRRASA`, which fails under pandas 3): [`Hrrasa`] on texts
/// with their embeddings, as [`TextRasa`] is RASA.
///
/// ```
/// use crowdagg::{EmbeddingAggregator, EmbeddingResponses, TextHrrasa};
///
/// let data = EmbeddingResponses::from_rows([
///     ("t1", "w1", "a cat", [1.0, 0.1]),
///     ("t1", "w2", "a cat", [1.0, 0.0]),
///     ("t1", "w3", "the dog", [0.0, 1.0]),
/// ])?;
/// let fit = TextHrrasa::default().fit(&data)?;
/// assert_eq!(fit.outputs(&data), ["a cat"]);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextHrrasa {
    inner: Hrrasa,
}

text_method!(TextHrrasa, TextHrrasaParams, "TextHRRASA");

crate::methods::params::params_by_inherent_check!(
    TextRasaParams => TextRasa,
    TextHrrasaParams => TextHrrasa,
);
