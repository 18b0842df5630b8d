//! Puts a file location on the data errors that a method raises about gold labels or skills
//! (the methods see values, not files; the readers remember where each value came from).

use crate::aggregation::{Gold, Skills};
use crate::error::{DataError, Error, InputError};

/// Turns a [`DataError`] about a gold label or a worker's skill into an [`InputError`] that
/// names the file and line the value was read from (`gold.csv:4: gold label "x" of task "t1"
/// is not among the labels of the responses`). Other errors, and values that were not read
/// from a file, are returned as they are.
pub fn locate(error: Error, gold: Option<&Gold>, skills: Option<&Skills>) -> Error {
    let Error::Data(data) = &error else {
        return error;
    };
    let gold = gold.map(Gold::origin);
    let skills = skills.map(Skills::origin);
    let (origin, key) = match data {
        DataError::UnknownGoldLabel { task, .. } => (gold, Some(task)),
        DataError::NoGoldOverlap { .. } => (gold, None),
        DataError::InvalidSkill { worker, .. } | DataError::SkillOutOfRange { worker, .. } => {
            (skills, Some(worker))
        }
        DataError::MissingSkill { .. }
        | DataError::TaskWithoutSkilledWorkers { .. }
        | DataError::SkillsLookLikeFractions { .. } => (skills, None),
        _ => (None, None),
    };
    let Some(origin) = origin else {
        return error;
    };
    let message = data.to_string();
    if let Some(location) = key.and_then(|k| origin.location(k)) {
        return InputError::Syntax {
            location: location.clone(),
            message,
        }
        .into();
    }
    match origin.file() {
        Some(file) => InputError::File {
            file: file.to_path_buf(),
            message,
        }
        .into(),
        None => error,
    }
}
