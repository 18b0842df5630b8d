//! The texts, embeddings and segmentation families for the Python package: ROVER on tokens
//! cut by Python (crowd-kit's `tokenizer` callable), the embedding methods on an
//! `(rows × dim)` array, the segmentation methods on a list of 2-D boolean masks. As elsewhere
//! in this module, Python passes integer codes (pandas' sorted `factorize`) and names are the
//! codes in decimal, so results are mapped back to codes here.

use crowdagg::methods::{
    ClosestToAverageParams, EmbeddingAggregator, HrrasaParams, Params, RasaParams,
    SegmentationAggregator, SegmentationEmParams, SegmentationMajorityVoteParams,
    SegmentationRasaParams, TextHrrasaParams, TextRasaParams,
};
use crowdagg::{EmbeddingResponses, Mask, Rover, SegmentationResponses, TrueEmbeddings};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{SignalCheck, detached, pair_refs, to_py};

/// The code a decimal name stands for.
fn code(name: &str) -> usize {
    name.parse().unwrap_or(usize::MAX)
}

/// The task index of each task code, from the tasks' names in index order: results go back
/// to Python by code, not in the order the library met the tasks.
fn tasks_by_code<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> Vec<usize> {
    let n_tasks = names.len();
    let mut by_code = vec![0usize; n_tasks];
    for (t, name) in names.enumerate() {
        let c = code(name);
        if c < n_tasks {
            by_code[c] = t;
        }
    }
    by_code
}

/// ROVER's vote on tokens: `tokens[i]` are the tokens of row `i`, which answers task
/// `tasks[i]` (codes `0..n_tasks`, every code used); rows of a task are merged in row order.
/// Returns the voted tokens of each task, by code.
#[pyfunction]
#[pyo3(signature = (n_tasks, tasks, tokens))]
pub(crate) fn rover_vote(
    py: Python<'_>,
    n_tasks: usize,
    tasks: PyReadonlyArray1<'_, i64>,
    tokens: Vec<Vec<String>>,
) -> PyResult<Vec<Vec<String>>> {
    let tasks = tasks.as_slice()?;
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); n_tasks];
    for (row, &task) in tasks.iter().enumerate() {
        let slot = usize::try_from(task)
            .ok()
            .and_then(|t| rows.get_mut(t))
            .ok_or_else(|| PyKeyError::new_err(format!("task code {task} out of range")))?;
        slot.push(row);
    }
    let signals = SignalCheck::default();
    detached(py, &signals, || {
        use rayon::prelude::*;
        Ok(rows
            .par_iter()
            .map(|rows| {
                let hypotheses: Vec<Vec<&str>> = rows
                    .iter()
                    .map(|&r| tokens[r].iter().map(String::as_str).collect())
                    .collect();
                Rover::vote(&hypotheses)
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .collect())
    })
}

/// An embedding method (`ClosestToAverage`, `RASA`, `HRRASA`, `TextRASA`, `TextHRRASA`) on
/// row `i` = (`tasks[i]`, `workers[i]`, `outputs[i]`, `embeddings[i, :]`); `true_tasks[j]`
/// has the true embedding `true_embeddings[j, :]`. Returns, by task code, `chosen` (the row
/// chosen), `aggregated` (tasks × dim); `scores` by row; `skills`, `prior_skills` by worker
/// code (or None); `local_skills` by row (or None); `loss_history`, `n_iter`.
#[pyfunction]
#[pyo3(signature = (method, params, tasks, workers, outputs, embeddings, true_tasks=None, true_embeddings=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_embeddings<'py>(
    py: Python<'py>,
    method: &str,
    params: Vec<(String, String)>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    outputs: Vec<String>,
    embeddings: PyReadonlyArray2<'py, f64>,
    true_tasks: Option<PyReadonlyArray1<'py, i64>>,
    true_embeddings: Option<PyReadonlyArray2<'py, f64>>,
) -> PyResult<Bound<'py, PyDict>> {
    let pairs = pair_refs(&params);
    let aggregator: Box<dyn EmbeddingAggregator> = match method {
        "ClosestToAverage" => Box::new(ClosestToAverageParams::from_pairs(pairs).map_err(to_py)?),
        "RASA" => Box::new(RasaParams::from_pairs(pairs).map_err(to_py)?),
        "HRRASA" => Box::new(HrrasaParams::from_pairs(pairs).map_err(to_py)?),
        "TextRASA" => Box::new(TextRasaParams::from_pairs(pairs).map_err(to_py)?),
        "TextHRRASA" => Box::new(TextHrrasaParams::from_pairs(pairs).map_err(to_py)?),
        other => {
            return Err(PyKeyError::new_err(format!(
                "unknown embedding method {other:?}"
            )));
        }
    };
    let (tasks, workers) = (tasks.as_slice()?, workers.as_slice()?);
    let embeddings = embeddings.as_array();
    let truth = match (&true_tasks, &true_embeddings) {
        (Some(t), Some(e)) => {
            let mut truth = TrueEmbeddings::new();
            for (task, row) in t.as_slice()?.iter().zip(e.as_array().rows()) {
                truth.insert(task.to_string(), row.to_vec());
            }
            Some(truth)
        }
        _ => None,
    };
    let signals = SignalCheck::default();
    let (fit, data) = detached(py, &signals, || {
        let mut builder = EmbeddingResponses::builder();
        let mut values = Vec::with_capacity(embeddings.ncols());
        for (i, row) in embeddings.rows().into_iter().enumerate() {
            values.clear();
            values.extend(row.iter().copied());
            builder.push(
                &tasks[i].to_string(),
                &workers[i].to_string(),
                &outputs[i],
                &values,
            )?;
        }
        let data = builder.build()?;
        let fit = aggregator.fit_observed(&data, truth.as_ref(), Some(&signals))?;
        Ok((fit, data))
    })?;
    // Task ids to codes, and each per-task quantity in code order.
    let n_tasks = data.n_tasks();
    let dim = data.dim();
    let by_code = tasks_by_code(data.task_names());
    let chosen: Vec<i64> = by_code.iter().map(|&t| fit.chosen[t] as i64).collect();
    let mut aggregated = Array2::<f64>::zeros((n_tasks, dim));
    for (c, &t) in by_code.iter().enumerate() {
        aggregated
            .row_mut(c)
            .assign(&numpy::ndarray::ArrayView1::from(fit.aggregated(t)));
    }
    let n_workers = data.n_workers();
    let per_worker = |values: Option<Vec<f64>>| {
        values.map(|v| {
            let mut out = vec![f64::NAN; n_workers];
            for (w, name) in data.worker_names().enumerate() {
                if let Some(slot) = out.get_mut(code(name)) {
                    *slot = v[w];
                }
            }
            out.into_pyarray(py)
        })
    };
    let dict = PyDict::new(py);
    dict.set_item("chosen", chosen.into_pyarray(py))?;
    dict.set_item("aggregated", aggregated.into_pyarray(py))?;
    dict.set_item("scores", fit.scores.into_pyarray(py))?;
    dict.set_item("skills", per_worker(fit.skills))?;
    dict.set_item("prior_skills", per_worker(fit.prior_skills))?;
    dict.set_item("local_skills", fit.local_skills.map(|l| l.into_pyarray(py)))?;
    dict.set_item("loss_history", fit.report.loss_history)?;
    dict.set_item("n_iter", fit.report.iterations)?;
    Ok(dict)
}

/// A segmentation method (`SegmentationMajorityVote`, `SegmentationRASA`, `SegmentationEM`)
/// on row `i` = (`tasks[i]`, `workers[i]`, `masks[i]`); `skills` (per worker code, NaN =
/// none) only for majority vote. Returns `masks` (one 2-D boolean array per task code),
/// `loss_history`, `n_iter`.
#[pyfunction]
#[pyo3(signature = (method, params, tasks, workers, masks, skills=None))]
pub(crate) fn fit_segmentation<'py>(
    py: Python<'py>,
    method: &str,
    params: Vec<(String, String)>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    masks: Vec<PyReadonlyArray2<'py, bool>>,
    skills: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<Bound<'py, PyDict>> {
    let pairs = pair_refs(&params);
    let mut majority_vote = None;
    let aggregator: Box<dyn SegmentationAggregator> = match method {
        "SegmentationMajorityVote" => {
            let mv = SegmentationMajorityVoteParams::from_pairs(pairs).map_err(to_py)?;
            majority_vote = Some(mv);
            Box::new(mv)
        }
        "SegmentationRASA" => Box::new(SegmentationRasaParams::from_pairs(pairs).map_err(to_py)?),
        "SegmentationEM" => Box::new(SegmentationEmParams::from_pairs(pairs).map_err(to_py)?),
        other => {
            return Err(PyKeyError::new_err(format!(
                "unknown segmentation method {other:?}"
            )));
        }
    };
    let skills = super::skills_map(skills.as_ref())?;
    let (tasks, workers) = (tasks.as_slice()?, workers.as_slice()?);
    let masks: Vec<Mask> = masks
        .iter()
        .map(|m| {
            let view = m.as_array();
            let (height, width) = view.dim();
            Mask::from_bools(width, height, view.iter().copied().collect()).map_err(to_py)
        })
        .collect::<PyResult<_>>()?;
    let signals = SignalCheck::default();
    let (fit, data) = detached(py, &signals, || {
        let mut builder = SegmentationResponses::builder();
        for ((t, w), mask) in tasks.iter().zip(workers).zip(masks) {
            builder.push(&t.to_string(), &w.to_string(), mask)?;
        }
        let data = builder.build();
        let fit = match majority_vote {
            Some(mv) => mv.fit_with_skills(&data, skills.as_ref())?,
            None => aggregator.fit(&data)?,
        };
        Ok((fit, data))
    })?;
    let by_code = tasks_by_code(data.task_names());
    let out = pyo3::types::PyList::empty(py);
    for &t in &by_code {
        let mask = &fit.masks[t];
        let array = Array2::from_shape_vec((mask.height(), mask.width()), mask.to_bools())
            .expect("a mask's pixels fill its grid");
        out.append(array.into_pyarray(py))?;
    }
    let dict = PyDict::new(py);
    dict.set_item("masks", out)?;
    dict.set_item("loss_history", fit.report.loss_history)?;
    dict.set_item("n_iter", fit.report.iterations)?;
    Ok(dict)
}
