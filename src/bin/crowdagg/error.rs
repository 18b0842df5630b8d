//! What a `crowdagg` command fails with: the library's typed errors, and the command line's
//! own problems, kept apart until `main` prints them.

use std::fmt;

/// A failed command. `main` prints it as one line, `crowdagg: error: …`, in the command
/// line's words, and exits with status 1.
#[derive(Debug)]
pub(crate) enum CliError {
    /// The library refused the input, the parameters or the fit.
    Library {
        /// What the library said (boxed: the error stays small on the `Ok` path).
        error: Box<crowdagg::Error>,
        /// Shown before the error: the option or file it is about (`--normalize-labels`,
        /// `gold.csv`).
        context: Option<String>,
        /// Shown after it: the option that gives what was missing (` (give them with
        /// --gold FILE)`).
        hint: &'static str,
    },
    /// Options that do not fit together or with the method.
    Usage(String),
    /// A file, standard output or socket that could not be used (`path: reason`).
    Io(String),
    /// A Toloka backend error (boxed: it holds the operation a wait gave up on), shown in the
    /// command's words (`toloka::describe_for_cli`).
    Toloka(Box<crowdagg::toloka::BackendError>),
    /// A message from a command that reports its errors as text (the texts, embeddings and
    /// segmentation family).
    Message(String),
}

impl CliError {
    /// A library error about `context` (an option or a file), shown after it.
    pub(crate) fn about(context: impl fmt::Display, error: impl Into<crowdagg::Error>) -> Self {
        Self::Library {
            error: Box::new(error.into()),
            context: Some(context.to_string()),
            hint: "",
        }
    }

    /// A library error followed by the option that fixes it.
    pub(crate) fn hinted(error: crowdagg::Error, hint: &'static str) -> Self {
        Self::Library {
            error: Box::new(error),
            context: None,
            hint,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Library {
                error,
                context,
                hint,
            } => {
                if let Some(context) = context {
                    write!(f, "{context}: ")?;
                }
                write!(f, "{error}{hint}")
            }
            Self::Toloka(error) => f.write_str(&super::toloka::describe_for_cli(error)),
            Self::Usage(text) | Self::Io(text) | Self::Message(text) => f.write_str(text),
        }
    }
}

impl From<crowdagg::Error> for CliError {
    fn from(error: crowdagg::Error) -> Self {
        Self::hinted(error, "")
    }
}

impl From<crowdagg::ParamsError> for CliError {
    fn from(error: crowdagg::ParamsError) -> Self {
        crowdagg::Error::from(error).into()
    }
}

impl From<crowdagg::DataError> for CliError {
    fn from(error: crowdagg::DataError) -> Self {
        crowdagg::Error::from(error).into()
    }
}

impl From<crowdagg::toloka::BackendError> for CliError {
    fn from(error: crowdagg::toloka::BackendError) -> Self {
        Self::Toloka(Box::new(error))
    }
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        Self::Message(message)
    }
}

/// For the family commands, which report text: their `?` on the shared helpers.
impl From<CliError> for String {
    fn from(error: CliError) -> Self {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::CliError;
    use crowdagg::toloka::{ApiError, BackendError, ErrorCode};

    /// The Toloka variants map to the typed CLI error, shown as the command always showed
    /// them: a validation error by the options that set its fields, another API error by its
    /// message, the rest as the backend says them, on one line.
    #[test]
    fn toloka_errors_stay_typed() {
        let invalid = ApiError::new(ErrorCode::ValidationError, "Validation failed").with_payload(
            serde_json::json!({
                "answer_weight_skill_id": {"code": "VALUE_REQUIRED", "message": "required"},
                "fields[0]": {"code": "INVALID", "message": "no such\nfield"}
            }),
        );
        let cases = [
            (
                BackendError::api(invalid),
                "--skill-id: required; --field: no such field",
            ),
            (
                BackendError::api(ApiError::new(ErrorCode::DoesNotExist, "no pool\np1")),
                "no pool p1",
            ),
            (
                BackendError::Transport("reset".into()),
                "transport error: reset",
            ),
        ];
        for (error, shown) in cases {
            let kind = error.kind();
            let cli = CliError::from(error);
            let CliError::Toloka(typed) = &cli else {
                panic!("{cli:?}");
            };
            assert_eq!(typed.kind(), kind);
            assert_eq!(cli.to_string(), shown);
        }
    }
}
