//! The Rust core of crowdagg's Python package (`crowdagg._core`).
//!
//! Python does the pandas work (column selection, `factorize(sort=True)`, rebuilding Series and
//! DataFrames with the input's dtypes); this module receives integer codes as numpy arrays,
//! borrowed without a copy, fits with the GIL released and returns numpy arrays it owns. Code
//! order is crowdagg's canonical order, so ties go to the smallest code: pandas' sorted order,
//! which is the order crowd-kit's fixtures encode.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crowdagg::methods::DawidSkeneParams;
use crowdagg::methods::find_method;
use crowdagg::{
    Aggregation, Aggregator, Error, FitInputs, Gold, InitialErrorStrategy, InitialErrors, Params,
    Responses, Skills,
};
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
    let codes = Codes {
        n_tasks,
        n_workers,
        n_labels,
        tasks: tasks.as_slice()?,
        workers: workers.as_slice()?,
        labels: labels.as_slice()?,
    };
    run(
        py,
        aggregator.as_ref(),
        codes,
        gold_map(gold.as_ref())?,
        skills_map(skills.as_ref())?,
    )
}

/// Initial error matrices as codes: row `i` says worker `workers[i]`'s entry for (observed
/// label `observed[i]`, true label `truth[i]`) is `values[i]`.
type InitialCodes<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
);

/// Dawid-Skene with initial error matrices (`initial_error_strategy` = `assign` or
/// `addition`), which do not fit in `key=value` parameters.
#[pyfunction]
#[pyo3(signature = (params, n_tasks, n_workers, n_labels, tasks, workers, labels, gold, strategy, initial))]
#[allow(clippy::too_many_arguments)] // one flat call keeps the Python side a plain function call
fn fit_dawid_skene<'py>(
    py: Python<'py>,
    params: Vec<(String, String)>,
    n_tasks: usize,
    n_workers: usize,
    n_labels: usize,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    gold: Option<GoldCodes<'py>>,
    strategy: &str,
    initial: InitialCodes<'py>,
) -> PyResult<Bound<'py, PyDict>> {
    let builder =
        DawidSkeneParams::parse_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(to_py)?;
    let strategy = match strategy {
        "assign" => InitialErrorStrategy::Assign,
        "addition" => InitialErrorStrategy::Addition,
        other => {
            return Err(PyValueError::new_err(format!(
                "Invalid initial_error_strategy: {other},should be 'assign' or 'addition'"
            )));
        }
    };
    let (w, o, t, v) = &initial;
    let mut errors = InitialErrors::new();
    for (((w, o), t), v) in w
        .as_slice()?
        .iter()
        .zip(o.as_slice()?)
        .zip(t.as_slice()?)
        .zip(v.as_slice()?)
    {
        errors.set(w.to_string(), o.to_string(), t.to_string(), *v);
    }
    let aggregator = builder
        .initial_errors(strategy, errors)
        .check()
        .map_err(to_py)?;
    let codes = Codes {
        n_tasks,
        n_workers,
        n_labels,
        tasks: tasks.as_slice()?,
        workers: workers.as_slice()?,
        labels: labels.as_slice()?,
    };
    run(py, &aggregator, codes, gold_map(gold.as_ref())?, None)
}

/// Coded responses, borrowed from numpy arrays.
struct Codes<'a> {
    n_tasks: usize,
    n_workers: usize,
    n_labels: usize,
    tasks: &'a [i64],
    workers: &'a [i64],
    labels: &'a [i64],
}

/// Names are the codes in decimal (`Responses::from_codes`), so gold is keyed so.
fn gold_map(gold: Option<&GoldCodes<'_>>) -> PyResult<Option<Gold>> {
    let Some((tasks, labels)) = gold else {
        return Ok(None);
    };
    Ok(Some(
        tasks
            .as_slice()?
            .iter()
            .zip(labels.as_slice()?)
            .map(|(t, l)| (t.to_string(), l.to_string()))
            .collect(),
    ))
}

/// Per-worker skills in code order; NaN means the worker has none.
fn skills_map(skills: Option<&PyReadonlyArray1<'_, f64>>) -> PyResult<Option<Skills>> {
    let Some(values) = skills else {
        return Ok(None);
    };
    Ok(Some(
        values
            .as_slice()?
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .map(|(w, &v)| (w.to_string(), v))
            .collect(),
    ))
}

/// Builds the responses and fits with the GIL released; a panic becomes a `RuntimeError`.
fn run<'py>(
    py: Python<'py>,
    aggregator: &dyn Aggregator,
    codes: Codes<'_>,
    gold: Option<Gold>,
    skills: Option<Skills>,
) -> PyResult<Bound<'py, PyDict>> {
    let outcome = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| -> Result<Aggregation, Error> {
            let data = Responses::from_codes(
                codes.n_tasks,
                codes.n_workers,
                codes.n_labels,
                codes.tasks,
                codes.workers,
                codes.labels,
            )?;
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
    m.add_function(wrap_pyfunction!(fit_dawid_skene, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
