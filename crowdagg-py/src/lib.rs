//! The Rust core of crowdagg's Python package (`crowdagg._core`).
//!
//! Python does the pandas work (column selection, `factorize(sort=True)`, rebuilding Series and
//! DataFrames with the input's dtypes); this module receives integer codes as numpy arrays,
//! borrowed without a copy, fits with the GIL released and returns numpy arrays it owns. Code
//! order is crowdagg's canonical order, so ties go to the smallest code: pandas' sorted order,
//! which is the order crowd-kit's fixtures encode.

mod arrow_input;
mod families;
mod shard;

use std::panic::{AssertUnwindSafe, catch_unwind};

use crowdagg::methods::DawidSkeneParams;
use crowdagg::methods::{Method, find_method};
use crowdagg::{
    Action, Aggregation, Aggregator, Error, ErrorKind, FitInputs, GladParams, Gold,
    InitialErrorStrategy, InitialErrors, IterationState, MaceParams, Observer, Params, Responses,
    Skills,
};
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Gold labels as code arrays: `tasks[i]` has true label `labels[i]`.
pub(crate) type GoldCodes<'py> = (PyReadonlyArray1<'py, i64>, PyReadonlyArray1<'py, i64>);

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
    let spec = find_spec(method)?;
    let pairs: Vec<(&str, &str)> = pair_refs(&params).collect();
    let aggregator = spec.build(&pairs).map_err(to_py)?;
    let codes = Codes::new((n_tasks, n_workers, n_labels), &tasks, &workers, &labels)?;
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
    let builder = DawidSkeneParams::parse_pairs(pair_refs(&params)).map_err(to_py)?;
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
    let codes = Codes::new((n_tasks, n_workers, n_labels), &tasks, &workers, &labels)?;
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

impl<'a> Codes<'a> {
    /// Borrows the three code columns (contiguous int64 arrays, else a `TypeError`).
    fn new(
        (n_tasks, n_workers, n_labels): (usize, usize, usize),
        tasks: &'a PyReadonlyArray1<'_, i64>,
        workers: &'a PyReadonlyArray1<'_, i64>,
        labels: &'a PyReadonlyArray1<'_, i64>,
    ) -> PyResult<Self> {
        Ok(Self {
            n_tasks,
            n_workers,
            n_labels,
            tasks: tasks.as_slice()?,
            workers: workers.as_slice()?,
            labels: labels.as_slice()?,
        })
    }
}

/// A method by crowd-kit class name or CLI name; an unknown one is a `KeyError`, as a missing
/// key of a dict.
pub(crate) fn find_spec(method: &str) -> PyResult<&'static Method> {
    find_method(method).ok_or_else(|| PyKeyError::new_err(format!("unknown method {method:?}")))
}

/// Borrows gold's two code columns (contiguous int64 arrays, else a `TypeError`).
pub(crate) fn gold_slices<'a>(
    gold: Option<&'a GoldCodes<'_>>,
) -> PyResult<Option<(&'a [i64], &'a [i64])>> {
    gold.map(|(tasks, labels)| Ok((tasks.as_slice()?, labels.as_slice()?)))
        .transpose()
}

/// Names are the codes in decimal (`Responses::from_codes`), so gold is keyed so.
fn gold_map(gold: Option<&GoldCodes<'_>>) -> PyResult<Option<Gold>> {
    Ok(gold_slices(gold)?.map(|(tasks, labels)| {
        tasks
            .iter()
            .zip(labels)
            .map(|(t, l)| (t.to_string(), l.to_string()))
            .collect()
    }))
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
    let result = run_with(py, codes, gold, skills, |data, inputs| {
        aggregator.aggregate_with(data, inputs)
    })?;
    result_dict(py, result)
}

/// Builds the responses from `codes` and calls `fit` on them with the side inputs, the GIL
/// released; a library error becomes a Python exception, a panic a `RuntimeError`.
fn run_with<T: Send>(
    py: Python<'_>,
    codes: Codes<'_>,
    gold: Option<Gold>,
    skills: Option<Skills>,
    fit: impl FnOnce(&Responses, FitInputs<'_>) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let signals = SignalCheck::default();
    detached(py, &signals, || {
        let data = Responses::from_codes(
            codes.n_tasks,
            codes.n_workers,
            codes.n_labels,
            codes.tasks,
            codes.workers,
            codes.labels,
        )?;
        let mut inputs = FitInputs::default().observer(&signals);
        if let Some(gold) = &gold {
            inputs = inputs.gold(gold);
        }
        if let Some(skills) = &skills {
            inputs = inputs.skills(skills);
        }
        fit(&data, inputs)
    })
}

/// Runs `fit` with the GIL released; a library error becomes a Python exception, a panic a
/// `RuntimeError`, a signal seen by `signals` its exception (`KeyboardInterrupt`, or the signal
/// handler's), which wins over the fit's own outcome.
pub(crate) fn detached<T: Send>(
    py: Python<'_>,
    signals: &SignalCheck,
    fit: impl FnOnce() -> Result<T, Error> + Send,
) -> PyResult<T> {
    let outcome = py.detach(|| catch_unwind(AssertUnwindSafe(fit)));
    if let Some(interrupt) = signals.take() {
        return Err(interrupt);
    }
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(to_py(error)),
        Err(panic) => Err(PyRuntimeError::new_err(format!(
            "crowdagg internal error (a bug, please report it): {}",
            panic_message(&panic)
        ))),
    }
}

/// Stops a fit at the next iteration when Python has a signal to handle (Ctrl-C): the fit runs
/// with the GIL released, so Python's handler cannot run until the observer takes the GIL for a
/// moment and asks; its exception (`KeyboardInterrupt`) is raised when the fit returns.
#[derive(Default)]
struct SignalCheck {
    raised: std::sync::Mutex<Option<PyErr>>,
}

impl SignalCheck {
    fn take(&self) -> Option<PyErr> {
        self.raised.lock().ok().and_then(|mut raised| raised.take())
    }
}

impl Observer for SignalCheck {
    fn observe(&self, _: &IterationState) -> Action {
        match Python::attach(|py| py.check_signals()) {
            Ok(()) => Action::Continue,
            Err(error) => {
                if let Ok(mut raised) = self.raised.lock() {
                    *raised = Some(error);
                }
                Action::Stop
            }
        }
    }
}

/// GLAD or MACE (`method`), returning beside the usual dict what only they fit: GLAD's `betas`
/// (per task: log inverse difficulty), MACE's `spamming` (workers × 2) and `thetas` (workers ×
/// labels).
#[pyfunction]
#[pyo3(signature = (method, params, n_tasks, n_workers, n_labels, tasks, workers, labels))]
#[allow(clippy::too_many_arguments)] // one flat call keeps the Python side a plain function call
fn fit_with_extras<'py>(
    py: Python<'py>,
    method: &str,
    params: Vec<(String, String)>,
    n_tasks: usize,
    n_workers: usize,
    n_labels: usize,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyDict>> {
    let codes = Codes::new((n_tasks, n_workers, n_labels), &tasks, &workers, &labels)?;
    match method {
        "GLAD" => {
            let glad = GladParams::from_pairs(pair_refs(&params)).map_err(to_py)?;
            let fit = run_with(py, codes, None, None, |data, inputs| glad.fit(data, inputs))?;
            let dict = result_dict(py, fit.aggregation)?;
            dict.set_item("betas", fit.betas.into_pyarray(py))?;
            Ok(dict)
        }
        "MACE" => {
            let mace = MaceParams::from_pairs(pair_refs(&params)).map_err(to_py)?;
            let fit = run_with(py, codes, None, None, |data, inputs| mace.fit(data, inputs))?;
            let dict = result_dict(py, fit.aggregation)?;
            dict.set_item("spamming", fit.spamming.into_pyarray(py))?;
            dict.set_item("thetas", fit.strategy.into_pyarray(py))?;
            Ok(dict)
        }
        other => Err(PyKeyError::new_err(format!(
            "no extra outputs for method {other:?} (GLAD or MACE)"
        ))),
    }
}

/// `key=value` pairs as the borrowed pairs the parameter readers take.
fn pair_refs(params: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// A pairwise method (`BradleyTerry`, `NoisyBradleyTerry`) on coded comparisons: row `i` says
/// worker `workers[i]` compared items `lefts[i]` and `rights[i]` and preferred the left one when
/// `left_won[i]`. Returns `items` (the item codes, in score order of the other arrays), `scores`,
/// and where the method has them `biases` and `skills` (per worker code), plus the fit report.
#[pyfunction]
#[pyo3(signature = (method, params, workers, lefts, rights, left_won))]
fn fit_pairwise<'py>(
    py: Python<'py>,
    method: &str,
    params: Vec<(String, String)>,
    workers: PyReadonlyArray1<'py, i64>,
    lefts: PyReadonlyArray1<'py, i64>,
    rights: PyReadonlyArray1<'py, i64>,
    left_won: PyReadonlyArray1<'py, bool>,
) -> PyResult<Bound<'py, PyDict>> {
    use crowdagg::methods::PairwiseParams as _;
    use crowdagg::{BradleyTerryParams, NoisyBradleyTerryParams, PairwiseAggregator};
    let pairs = pair_refs(&params);
    let aggregator: Box<dyn PairwiseAggregator> = match method {
        "BradleyTerry" => Box::new(BradleyTerryParams::from_pairs(pairs).map_err(to_py)?),
        "NoisyBradleyTerry" => Box::new(NoisyBradleyTerryParams::from_pairs(pairs).map_err(to_py)?),
        other => {
            return Err(PyKeyError::new_err(format!(
                "unknown pairwise method {other:?}"
            )));
        }
    };
    let (workers, lefts, rights, left_won) = (
        workers.as_slice()?,
        lefts.as_slice()?,
        rights.as_slice()?,
        left_won.as_slice()?,
    );
    let signals = SignalCheck::default();
    let (fit, items, worker_codes) = detached(py, &signals, || {
        // Names are the codes in decimal: their numeric order is the code order.
        let mut builder = crowdagg::PairwiseResponses::builder();
        for (((w, l), r), &won) in workers.iter().zip(lefts).zip(rights).zip(left_won) {
            let (w, l, r) = (w.to_string(), l.to_string(), r.to_string());
            let winner = if won { l.clone() } else { r.clone() };
            builder.push(&w, &l, &r, &winner)?;
        }
        let data = builder.build()?;
        let fit = aggregator.fit_with(&data, Some(&signals))?;
        let code = |name: &str| name.parse::<i64>().unwrap_or(-1);
        let items: Vec<i64> = data.item_names().map(code).collect();
        let worker_codes: Vec<i64> = data.worker_names().map(code).collect();
        Ok((fit, items, worker_codes))
    })?;
    let dict = PyDict::new(py);
    dict.set_item("items", items.into_pyarray(py))?;
    dict.set_item("workers", worker_codes.into_pyarray(py))?;
    dict.set_item("scores", fit.scores.into_pyarray(py))?;
    dict.set_item("biases", fit.biases.map(|b| b.into_pyarray(py)))?;
    dict.set_item("skills", fit.skills.map(|s| s.into_pyarray(py)))?;
    dict.set_item("loss_history", fit.report.loss_history)?;
    dict.set_item("n_iter", fit.report.iterations)?;
    Ok(dict)
}

/// Agreement metrics on coded responses (crowd-kit's `crowdkit.metrics`): `"consistency"`
/// (per task; needs `labels` and `skills`), `"uncertainty_task"` / `"uncertainty_worker"` (per
/// task or worker; `skills` optional, NaN = missing) or `"alpha"` (one value).
#[pyfunction]
#[pyo3(signature = (name, n_tasks, n_workers, n_labels, tasks, workers, labels, aggregated=None, skills=None))]
#[allow(clippy::too_many_arguments)] // one flat call keeps the Python side a plain function call
fn metric<'py>(
    py: Python<'py>,
    name: &str,
    n_tasks: usize,
    n_workers: usize,
    n_labels: usize,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    aggregated: Option<PyReadonlyArray1<'py, i64>>,
    skills: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<Bound<'py, PyAny>> {
    use crowdagg::metrics;
    const NAMES: [&str; 4] = [
        "consistency",
        "uncertainty_task",
        "uncertainty_worker",
        "alpha",
    ];
    if !NAMES.contains(&name) {
        return Err(PyKeyError::new_err(format!(
            "unknown metric {name:?} (known: {})",
            NAMES.join(", ")
        )));
    }
    let codes = Codes::new((n_tasks, n_workers, n_labels), &tasks, &workers, &labels)?;
    let skills: Option<Vec<Option<f64>>> = match &skills {
        Some(values) => Some(
            values
                .as_slice()?
                .iter()
                .map(|&v| (!v.is_nan()).then_some(v))
                .collect(),
        ),
        None => None,
    };
    let aggregated: Option<Vec<crowdagg::Label>> = match &aggregated {
        Some(codes) => Some(
            codes
                .as_slice()?
                .iter()
                .map(|&c| {
                    crowdagg::Label::try_from(c)
                        .ok()
                        .filter(|&l| usize::from(l) < n_labels)
                        .ok_or_else(|| {
                            PyValueError::new_err(format!("label code {c} out of range"))
                        })
                })
                .collect::<PyResult<_>>()?,
        ),
        None => None,
    };
    if aggregated.as_ref().is_some_and(|a| a.len() != n_tasks) {
        return Err(PyValueError::new_err(
            "one aggregated label per task is needed",
        ));
    }
    enum Value {
        One(f64),
        Many(Vec<f64>),
        Missing(&'static str),
    }
    let value = run_with(py, codes, None, None, |data, _| {
        Ok(match name {
            "consistency" => {
                let (Some(labels), Some(skills)) = (&aggregated, &skills) else {
                    // A caller bug in the Python layer, not bad data: said as such.
                    return Ok(Value::Missing(
                        "consistency needs the aggregated labels and the skills",
                    ));
                };
                Value::Many(metrics::consistency_by_task(data, labels, skills)?)
            }
            "uncertainty_task" => Value::Many(metrics::uncertainty(
                data,
                skills.as_deref(),
                metrics::By::Task,
            )?),
            "uncertainty_worker" => Value::Many(metrics::uncertainty(
                data,
                skills.as_deref(),
                metrics::By::Worker,
            )?),
            _ => Value::One(metrics::alpha_krippendorff(data)?),
        })
    })?;
    match value {
        Value::Missing(what) => Err(PyTypeError::new_err(what)),
        Value::One(v) => Ok(v.into_pyobject(py)?.into_any()),
        Value::Many(values) => Ok(values.into_pyarray(py).into_any()),
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
    // The spelling of the CLI's JSON report (serde's), not Rust's Debug name.
    let stop_reason = serde_json::to_value(result.report.stop_reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    dict.set_item("stop_reason", stop_reason)?;
    Ok(dict)
}

/// Library errors become `ValueError` (bad data or parameters), I/O errors `OSError`.
/// Library errors as the exceptions crowd-kit raises: bad data or values a `ValueError` (also a
/// missing skill or label, where crowd-kit raises `ValueError` rather than `KeyError`), a
/// parameter of the wrong kind a `TypeError`, an unreadable file an `OSError`.
fn to_py(error: impl Into<Error>) -> PyErr {
    let error = error.into();
    let message = error.to_string();
    match error.kind() {
        ErrorKind::Io => pyo3::exceptions::PyOSError::new_err(message),
        ErrorKind::WrongType if matches!(error, Error::Params(_)) => PyTypeError::new_err(message),
        _ => PyValueError::new_err(message),
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
    m.add_function(wrap_pyfunction!(fit_with_extras, m)?)?;
    m.add_function(wrap_pyfunction!(metric, m)?)?;
    m.add_function(wrap_pyfunction!(fit_pairwise, m)?)?;
    m.add_function(wrap_pyfunction!(families::rover_vote, m)?)?;
    m.add_function(wrap_pyfunction!(families::fit_embeddings, m)?)?;
    m.add_function(wrap_pyfunction!(families::fit_segmentation, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(arrow_input::factorize_arrow, m)?)?;
    shard::register(m)?;
    Ok(())
}
