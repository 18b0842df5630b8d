//! The Rust core of crowdagg's Python package (`crowdagg._core`).
//!
//! Python does the pandas work (column selection, `factorize(sort=True)`, rebuilding Series and
//! DataFrames with the input's dtypes); this module receives integer codes as numpy arrays,
//! borrowed without a copy, fits with the GIL released and returns numpy arrays it owns. Code
//! order is crowdagg's canonical order, so ties go to the smallest code: pandas' sorted order,
//! which is the order crowd-kit's fixtures encode.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crowdagg::methods::find_method;
use crowdagg::{Aggregation, Error, FitInputs, Gold, Responses, Skills};
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Gold labels as code arrays: `tasks[i]` has true label `labels[i]`.
type GoldCodes<'py> = (PyReadonlyArray1<'py, i64>, PyReadonlyArray1<'py, i64>);

/// Fits `method` (a crowd-kit class name or a CLI name such as `ds`) with `params` (`key`,
/// `value` text pairs, as `--param key=value` takes them) on coded responses; returns a dict of
/// numpy arrays and plain values (see `result_dict`).
#[pyfunction]
#[pyo3(signature = (method, params, n_tasks, n_workers, n_labels, tasks, workers, labels, gold=None, skills=None))]
#[allow(clippy::too_many_arguments)] // one flat call keeps the Python side a plain function call
fn fit<'py>(
    py: Python<'py>,
    method: &str,
    params: Vec<(String, String)>,
    n_tasks: usize,
    n_workers: usize,
    n_labels: usize,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    gold: Option<GoldCodes<'py>>,
    skills: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<Bound<'py, PyDict>> {
    let spec = find_method(method)
        .ok_or_else(|| PyKeyError::new_err(format!("unknown method {method:?}")))?;
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let aggregator = spec.build(&pairs).map_err(to_py)?;
    let (tasks, workers, labels) = (tasks.as_slice()?, workers.as_slice()?, labels.as_slice()?);
    // Names are the codes in decimal (`Responses::from_codes`), so gold and skills are keyed so.
    let gold: Option<Gold> = match &gold {
        Some((gold_tasks, gold_labels)) => Some(
            gold_tasks
                .as_slice()?
                .iter()
                .zip(gold_labels.as_slice()?)
                .map(|(t, l)| (t.to_string(), l.to_string()))
                .collect(),
        ),
        None => None,
    };
    let skills: Option<Skills> = match &skills {
        Some(values) => Some(
            values
                .as_slice()?
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.is_nan())
                .map(|(w, &v)| (w.to_string(), v))
                .collect(),
        ),
        None => None,
    };
    let outcome = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| -> Result<Aggregation, Error> {
            let data = Responses::from_codes(n_tasks, n_workers, n_labels, tasks, workers, labels)?;
            let mut inputs = FitInputs::default();
            if let Some(gold) = &gold {
                inputs = inputs.gold(gold);
            }
            if let Some(skills) = &skills {
                inputs = inputs.skills(skills);
            }
            aggregator.aggregate_with(&data, inputs)
        }))
    });
    match outcome {
        Ok(Ok(result)) => result_dict(py, result),
        Ok(Err(error)) => Err(to_py(error)),
        Err(panic) => Err(PyRuntimeError::new_err(format!(
            "crowdagg internal error (a bug, please report it): {}",
            panic_message(&panic)
        ))),
    }
}

/// The fitted model as a dict: `labels` (label code per task), `confidence`, and where the
/// method defines them `probas`/`scores` (tasks × labels), `skills` (per worker, NaN where the
/// method could not rate one), `errors` (workers × observed label × true label), `priors`;
/// always `loss_history`, `n_iter`, `stop_reason`.
fn result_dict(py: Python<'_>, result: Aggregation) -> PyResult<Bound<'_, PyDict>> {
    let dict = PyDict::new(py);
    let labels: Vec<i64> = result.labels.iter().map(|&l| i64::from(l)).collect();
    dict.set_item("labels", labels.into_pyarray(py))?;
    dict.set_item("confidence", result.confidence.into_pyarray(py))?;
    dict.set_item("probas", result.probabilities.map(|p| p.into_pyarray(py)))?;
    dict.set_item("scores", result.scores.map(|s| s.into_pyarray(py)))?;
    let skills = result.skills.map(|s| {
        s.into_iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect::<Vec<_>>()
    });
    dict.set_item("skills", skills.map(|s| s.into_pyarray(py)))?;
    dict.set_item("errors", result.errors.map(|e| e.into_pyarray(py)))?;
    dict.set_item("priors", result.priors.map(|p| p.into_pyarray(py)))?;
    dict.set_item("loss_history", result.report.loss_history)?;
    dict.set_item("n_iter", result.report.iterations)?;
    dict.set_item("stop_reason", format!("{:?}", result.report.stop_reason))?;
    Ok(dict)
}

/// Library errors become `ValueError` (bad data or parameters), I/O errors `OSError`.
fn to_py(error: impl Into<Error>) -> PyErr {
    match error.into() {
        Error::Input(e) => pyo3::exceptions::PyOSError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

/// The version of the Rust core.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
