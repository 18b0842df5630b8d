//! `crowdagg._core.Shard`, `Driver` and `Table`: the shard protocol of `crowdagg::shard` with
//! numpy buffers, for `crowdagg.distributed` (Ray, Dask) and `crowdagg.spark`; Dawid-Skene,
//! one-coin Dawid-Skene, majority vote and Wawa behind the same classes. Statistics and models are 1-D float64
//! arrays; the engine moves them, these classes do the arithmetic.

use crowdagg::methods::{DawidSkeneParams, MajorityVoteParams, OneCoinDawidSkeneParams};
use crowdagg::output::ResultNames;
use crowdagg::shard::{
    Config, Driver, Layout, Names, Owner, Scattered, Shard, Vote, VoteDriver, VoteShard,
    shard_codes, worker_ranges,
};
use crowdagg::{Aggregation, Aggregator, Error, Label, Params, Responses, Wawa};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use super::{GoldCodes, find_spec, gold_slices, pair_refs, result_dict, to_py};

/// A sharded method, parsed from its name and `key=value` pairs: what runs (Dawid-Skene's EM
/// or a vote), the shard count (`shards`, default 1), and what the JSON report needs.
struct Method {
    kind: Kind,
    shards: usize,
    name: &'static str,
    report: crowdagg::methods::ParamReport,
}

#[derive(Clone, Copy)]
enum Kind {
    Em(Config),
    Vote(Vote),
}

fn parse_method(method: &str, params: &[(String, String)]) -> PyResult<Method> {
    // A vote gives the same result on any plan: `shards` only cuts the work.
    let shards_of = |params: &[(String, String)]| -> PyResult<(usize, Vec<(String, String)>)> {
        let mut shards = 1;
        let mut rest = Vec::new();
        for (k, v) in params {
            if k == "shards" {
                shards = v.parse().ok().filter(|&p: &usize| p >= 1).ok_or_else(|| {
                    PyValueError::new_err(format!("shards={v}: expected a positive integer"))
                })?;
            } else {
                rest.push((k.clone(), v.clone()));
            }
        }
        Ok((shards, rest))
    };
    match find_spec(method)?.cli_name {
        "ds" => {
            let p = DawidSkeneParams::parse_pairs(pair_refs(params)).map_err(to_py)?;
            let checked = p.clone().check().map_err(to_py)?;
            Ok(Method {
                kind: Kind::Em(Config::dawid_skene(&p).map_err(to_py)?),
                shards: p.shards.unwrap_or(1),
                name: checked.name(),
                report: checked.params(),
            })
        }
        "one-coin-ds" => {
            let p = OneCoinDawidSkeneParams::parse_pairs(pair_refs(params)).map_err(to_py)?;
            let checked = p.check().map_err(to_py)?;
            Ok(Method {
                kind: Kind::Em(Config::one_coin(&p)),
                shards: p.shards.unwrap_or(1),
                name: checked.name(),
                report: checked.params(),
            })
        }
        "mv" => {
            let (shards, rest) = shards_of(params)?;
            let p = MajorityVoteParams::parse_pairs(pair_refs(&rest)).map_err(to_py)?;
            let checked = p.check().map_err(to_py)?;
            Ok(Method {
                kind: Kind::Vote(Vote::Majority),
                shards,
                name: checked.name(),
                report: checked.params(),
            })
        }
        "wawa" => {
            let (shards, rest) = shards_of(params)?;
            let checked = Wawa::parse_pairs(pair_refs(&rest))
                .and_then(Params::check)
                .map_err(to_py)?;
            Ok(Method {
                kind: Kind::Vote(Vote::Wawa),
                shards,
                name: checked.name(),
                report: checked.params(),
            })
        }
        other => Err(PyValueError::new_err(format!(
            "{other} does not run on shards (ds, one-coin-ds, mv and wawa do)"
        ))),
    }
}

fn buffer<'py>(py: Python<'py>, values: Vec<f64>) -> Bound<'py, PyArray1<f64>> {
    values.into_pyarray(py)
}

/// One shard of a sharded fit: its answers (global integer codes), resident.
#[pyclass(module = "crowdagg._core", name = "Shard")]
struct PyShard {
    inner: AnyShard,
}

// One per Python object, held for the whole run: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum AnyShard {
    Em(Shard),
    Vote(VoteShard),
}

#[pymethods]
impl PyShard {
    /// Shard `index` of the plan of `n_tasks` tasks on `params`' `shards`, from the answers of
    /// its tasks (int64 arrays of global task, worker, label codes) and optional gold
    /// (global task codes, label codes).
    #[new]
    #[pyo3(signature = (method, params, n_tasks, n_workers, n_labels, index, tasks, workers, labels, gold=None))]
    #[allow(clippy::too_many_arguments)] // one flat call keeps the Python side a plain call
    fn new(
        py: Python<'_>,
        method: &str,
        params: Vec<(String, String)>,
        n_tasks: usize,
        n_workers: usize,
        n_labels: usize,
        index: usize,
        tasks: PyReadonlyArray1<'_, i64>,
        workers: PyReadonlyArray1<'_, i64>,
        labels: PyReadonlyArray1<'_, i64>,
        gold: Option<GoldCodes<'_>>,
    ) -> PyResult<Self> {
        let method = parse_method(method, &params)?;
        let layout = Layout::new(n_tasks, n_workers, n_labels, method.shards).map_err(to_py)?;
        let codes = (tasks.as_slice()?, workers.as_slice()?, labels.as_slice()?);
        let gold = gold_slices(gold.as_ref())?;
        if matches!(method.kind, Kind::Vote(_)) && gold.is_some() {
            return Err(PyValueError::new_err(format!(
                "{} takes no gold",
                method.name
            )));
        }
        let inner = py
            .detach(|| match method.kind {
                Kind::Em(config) => {
                    Shard::new(&config, &layout, index, codes, gold).map(AnyShard::Em)
                }
                Kind::Vote(_) => VoteShard::new(&layout, index, codes).map(AnyShard::Vote),
            })
            .map_err(to_py)?;
        Ok(Self { inner })
    }

    /// The majority-vote initialisation; returns its statistics.
    fn init<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        let stats = py.detach(|| match &mut self.inner {
            AnyShard::Em(shard) => shard.init(),
            AnyShard::Vote(shard) => shard.init(),
        });
        buffer(py, stats)
    }

    /// The E-step on `model` (a `Driver.update` result); returns its statistics.
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        model: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let model = model.as_slice()?;
        let stats = py
            .detach(|| match &mut self.inner {
                AnyShard::Em(shard) => shard.step(model),
                AnyShard::Vote(shard) => shard.step(model),
            })
            .map_err(to_py)?;
        Ok(buffer(py, stats))
    }

    /// `init` for a reduce-scatter over `owners` owners: (head for the driver, one slice per
    /// worker range for its owner). Dawid-Skene only.
    fn init_scattered<'py>(
        &mut self,
        py: Python<'py>,
        owners: usize,
    ) -> PyResult<ScatteredPy<'py>> {
        let shard = self.em_shard()?;
        let parts = py.detach(|| shard.init_scattered(owners)).map_err(to_py)?;
        Ok(scattered_py(py, parts))
    }

    /// `step` for a reduce-scatter over `owners` owners: (head, slices).
    fn step_scattered<'py>(
        &mut self,
        py: Python<'py>,
        model: PyReadonlyArray1<'py, f64>,
        owners: usize,
    ) -> PyResult<ScatteredPy<'py>> {
        let model = model.as_slice()?;
        let shard = self.em_shard()?;
        let parts = py
            .detach(|| shard.step_scattered(model, owners))
            .map_err(to_py)?;
        Ok(scattered_py(py, parts))
    }

    /// The current posterior of the shard's tasks (tasks × labels, flattened).
    fn posteriors<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        let posteriors = match &self.inner {
            AnyShard::Em(shard) => shard.posteriors(),
            AnyShard::Vote(shard) => shard.posteriors(),
        };
        buffer(py, posteriors.to_vec())
    }
}

impl PyShard {
    fn em_shard(&mut self) -> PyResult<&mut Shard> {
        match &mut self.inner {
            AnyShard::Em(shard) => Ok(shard),
            AnyShard::Vote(_) => Err(PyValueError::new_err(
                "a vote has no reduce-scatter (its statistics are per-worker integers, one pass)",
            )),
        }
    }
}

/// A scattered pass as Python sees it: (head, [slice per range]).
type ScatteredPy<'py> = (Bound<'py, PyArray1<f64>>, Vec<Bound<'py, PyArray1<f64>>>);

fn scattered_py(py: Python<'_>, parts: Scattered) -> ScatteredPy<'_> {
    let slices = parts.slices.into_iter().map(|s| buffer(py, s)).collect();
    (buffer(py, parts.head), slices)
}

/// The owner of one worker range of a reduce-scatter: adds every shard's slice of its range
/// in shard order and runs its workers' M-step.
#[pyclass(module = "crowdagg._core", name = "Owner")]
struct PyOwner {
    inner: Owner,
}

#[pymethods]
impl PyOwner {
    /// Owner `index` of `owners` in the run of `method`/`params` (`shards` included) on a
    /// table of these sizes.
    #[new]
    #[pyo3(signature = (method, params, n_tasks, n_workers, n_labels, owners, index))]
    #[allow(clippy::too_many_arguments)] // as Shard's constructor: one flat call
    fn new(
        method: &str,
        params: Vec<(String, String)>,
        n_tasks: usize,
        n_workers: usize,
        n_labels: usize,
        owners: usize,
        index: usize,
    ) -> PyResult<Self> {
        let method = parse_method(method, &params)?;
        let Kind::Em(config) = method.kind else {
            return Err(PyValueError::new_err(format!(
                "{} has no reduce-scatter",
                method.name
            )));
        };
        let layout = Layout::new(n_tasks, n_workers, n_labels, method.shards).map_err(to_py)?;
        let inner = Owner::new(config, layout, owners, index).map_err(to_py)?;
        Ok(Self { inner })
    }

    /// The worker range `(start, end)` this owner M-steps.
    #[getter]
    fn workers(&self) -> (usize, usize) {
        let w = self.inner.workers();
        (w.start, w.end)
    }

    /// Every shard's slice of this range from one pass, in shard order → the model slice.
    fn reduce<'py>(
        &mut self,
        py: Python<'py>,
        slices: Vec<PyReadonlyArray1<'py, f64>>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let slices = slices_of(&slices)?;
        let inner = &mut self.inner;
        let model = py.detach(|| inner.reduce(&slices)).map_err(to_py)?;
        Ok(buffer(py, model))
    }

    /// A rebuilt owner: its workers' answers as `Driver.owner_answers` gives them.
    fn restore(&mut self, answers: PyReadonlyArray1<'_, f64>) -> PyResult<()> {
        self.inner.restore(answers.as_slice()?).map_err(to_py)
    }
}

/// The driver of a sharded fit: merges statistics in shard order, M-step, stop rule, result.
#[pyclass(module = "crowdagg._core", name = "Driver")]
struct PyDriver {
    inner: AnyDriver,
    name: &'static str,
    report: crowdagg::methods::ParamReport,
    result: Option<Aggregation>,
}

/// Dawid-Skene's driver or a vote's, behind one Python class.
enum AnyDriver {
    Em(Driver),
    Vote(VoteDriver),
}

impl AnyDriver {
    fn layout(&self) -> &Layout {
        match self {
            Self::Em(d) => d.layout(),
            Self::Vote(d) => d.layout(),
        }
    }

    fn update(&mut self, stats: &[&[f64]]) -> Result<Option<&[f64]>, Error> {
        match self {
            Self::Em(d) => d.update(stats),
            Self::Vote(d) => d.update(stats),
        }
    }

    fn model(&self) -> &[f64] {
        match self {
            Self::Em(d) => d.model(),
            Self::Vote(d) => d.model(),
        }
    }

    fn result_models(&self) -> Vec<&[f64]> {
        match self {
            Self::Em(d) => d.result_models(),
            Self::Vote(d) => d.result_models(),
        }
    }

    fn names(
        &self,
        tasks: Vec<String>,
        workers: Vec<String>,
        labels: Vec<String>,
    ) -> Result<Names, Error> {
        match self {
            Self::Em(d) => d.names(tasks, workers, labels),
            Self::Vote(d) => d.names(tasks, workers, labels),
        }
    }

    fn finish(&self, posteriors: &[&[f64]]) -> Result<Aggregation, Error> {
        match self {
            Self::Em(d) => d.finish(posteriors),
            Self::Vote(d) => d.finish(posteriors),
        }
    }
}

fn slices_of<'a>(arrays: &'a [PyReadonlyArray1<'_, f64>]) -> PyResult<Vec<&'a [f64]>> {
    arrays
        .iter()
        .map(|a| a.as_slice().map_err(PyErr::from))
        .collect()
}

#[pymethods]
impl PyDriver {
    #[new]
    #[pyo3(signature = (method, params, n_tasks, n_workers, n_labels))]
    fn new(
        method: &str,
        params: Vec<(String, String)>,
        n_tasks: usize,
        n_workers: usize,
        n_labels: usize,
    ) -> PyResult<Self> {
        let method = parse_method(method, &params)?;
        let layout = Layout::new(n_tasks, n_workers, n_labels, method.shards).map_err(to_py)?;
        Ok(Self {
            inner: match method.kind {
                Kind::Em(config) => AnyDriver::Em(Driver::new(config, layout)),
                Kind::Vote(vote) => AnyDriver::Vote(VoteDriver::new(vote, layout)),
            },
            name: method.name,
            report: method.report,
            result: None,
        })
    }

    /// The task range `(start, end)` of each shard.
    fn plan(&self) -> Vec<(usize, usize)> {
        let shards = self.inner.layout().shards();
        shards.iter().map(|r| (r.start, r.end)).collect()
    }

    /// Statistics of every shard in shard order (of `init`, then of each `step`) → the model
    /// to step on next, or None when finished.
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        stats: Vec<PyReadonlyArray1<'py, f64>>,
    ) -> PyResult<Option<Bound<'py, PyArray1<f64>>>> {
        let stats = slices_of(&stats)?;
        let inner = &mut self.inner;
        let model = py
            .detach(|| inner.update(&stats).map(|m| m.map(<[f64]>::to_vec)))
            .map_err(to_py)?;
        Ok(model.map(|m| buffer(py, m)))
    }

    /// The worker ranges `(start, end)` of a reduce-scatter over `owners` owners.
    fn worker_ranges(&self, owners: usize) -> PyResult<Vec<(usize, usize)>> {
        let (_, n_workers, _) = self.inner.layout().sizes();
        let ranges = worker_ranges(n_workers, owners).map_err(to_py)?;
        Ok(ranges.iter().map(|r| (r.start, r.end)).collect())
    }

    /// `update` for a reduce-scatter: every shard's head in shard order and every owner's
    /// model slice in range order → the model to step on next, or None when finished.
    fn update_scattered<'py>(
        &mut self,
        py: Python<'py>,
        heads: Vec<PyReadonlyArray1<'py, f64>>,
        model_slices: Vec<PyReadonlyArray1<'py, f64>>,
    ) -> PyResult<Option<Bound<'py, PyArray1<f64>>>> {
        let (heads, model_slices) = (slices_of(&heads)?, slices_of(&model_slices)?);
        let AnyDriver::Em(driver) = &mut self.inner else {
            return Err(PyValueError::new_err("a vote has no reduce-scatter"));
        };
        let model = py
            .detach(|| {
                driver
                    .update_scattered(&heads, &model_slices)
                    .map(|m| m.map(<[f64]>::to_vec))
            })
            .map_err(to_py)?;
        Ok(model.map(|m| buffer(py, m)))
    }

    /// For rebuilding owner `index` of `owners`: its workers' answers (`Owner.restore`).
    fn owner_answers<'py>(
        &self,
        py: Python<'py>,
        owners: usize,
        index: usize,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let AnyDriver::Em(driver) = &self.inner else {
            return Err(PyValueError::new_err("a vote has no reduce-scatter"));
        };
        let answers = driver.owner_answers(owners, index).map_err(to_py)?;
        Ok(buffer(py, answers.to_vec()))
    }

    /// The model to step on next.
    fn model<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        buffer(py, self.inner.model().to_vec())
    }

    /// For rebuilding a lost shard: after `init()`, step it on this model (if not None) and
    /// discard the statistics; it is then ready for `model()`.
    fn model_before<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        match &self.inner {
            AnyDriver::Em(d) => d.model_before().map(|m| buffer(py, m.to_vec())),
            AnyDriver::Vote(_) => None,
        }
    }

    /// For an engine that keeps no shard between passes (Spark): the models each shard steps
    /// on after `init()` to make the result's posterior current, for `finish`.
    fn result_models<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyArray1<f64>>> {
        let models = self.inner.result_models();
        models.into_iter().map(|m| buffer(py, m.to_vec())).collect()
    }

    /// Whether the method's fit has a reduce-scatter (Dawid-Skene, one-coin DS: per-worker
    /// count tables), so that callers refuse `reduce="scatter"` before building anything.
    #[getter]
    fn scatters(&self) -> bool {
        matches!(self.inner, AnyDriver::Em(_))
    }

    /// Iterations run so far (0 for a vote).
    #[getter]
    fn iterations(&self) -> usize {
        match &self.inner {
            AnyDriver::Em(d) => d.iterations(),
            AnyDriver::Vote(_) => 0,
        }
    }

    /// The finished result as `crowdagg aggregate --format csv|json` writes it, with the names
    /// of the tasks, workers and labels in code order (which must be the canonical order of
    /// `crowdagg aggregate`: checked), for a run whose table is never in one place.
    fn write<'py>(
        &self,
        py: Python<'py>,
        tasks: Vec<String>,
        workers: Vec<String>,
        labels: Vec<String>,
        format: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let names = self.inner.names(tasks, workers, labels).map_err(to_py)?;
        write_result(py, &names, self, format)
    }

    /// The result dict (as `crowdagg._core.fit`'s) from every shard's posteriors in order.
    fn finish<'py>(
        &mut self,
        py: Python<'py>,
        posteriors: Vec<PyReadonlyArray1<'py, f64>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let posteriors = slices_of(&posteriors)?;
        let result = self.inner.finish(&posteriors).map_err(to_py)?;
        self.result = Some(result.clone());
        result_dict(py, result)
    }
}

/// A response file read as `crowdagg aggregate` reads it (default columns `task,worker,label`,
/// comma or tab by extension), with optional gold: the global codes of each shard, and the
/// library's writers for the result, so the output has the CLI's bytes.
#[pyclass(module = "crowdagg._core", name = "Table")]
struct PyTable {
    data: Responses,
    gold: Option<Vec<Option<Label>>>,
}

#[pymethods]
impl PyTable {
    #[new]
    #[pyo3(signature = (path, gold=None))]
    fn new(
        py: Python<'_>,
        path: std::path::PathBuf,
        gold: Option<std::path::PathBuf>,
    ) -> PyResult<Self> {
        py.detach(|| -> Result<Self, Error> {
            let options = crowdagg::io::ReadOptions::default();
            let data = crowdagg::io::read_responses(&path, &options)?;
            let gold = match gold {
                None => None,
                Some(gold_path) => {
                    let gold = crowdagg::io::read_gold(&gold_path, &options)?;
                    gold.check_overlap(&data)?;
                    gold.check_labels(&data)?;
                    Some(gold.resolve(&data)?)
                }
            };
            Ok(Self { data, gold })
        })
        .map_err(to_py)
    }

    /// (tasks, workers, labels) counts.
    #[getter]
    fn sizes(&self) -> (usize, usize, usize) {
        (
            self.data.n_tasks(),
            self.data.n_workers(),
            self.data.n_labels(),
        )
    }

    /// The global codes of the answers of tasks `start..end`: (tasks, workers, labels).
    #[allow(clippy::type_complexity)]
    fn codes<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        end: usize,
    ) -> PyResult<(
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<i64>>,
    )> {
        if start >= end || end > self.data.n_tasks() {
            return Err(PyValueError::new_err(format!(
                "tasks {start}..{end} of {}",
                self.data.n_tasks()
            )));
        }
        let (t, w, l) = shard_codes(&self.data, start..end);
        Ok((t.into_pyarray(py), w.into_pyarray(py), l.into_pyarray(py)))
    }

    /// The gold of tasks `start..end` as (task codes, label codes), or None without gold.
    #[allow(clippy::type_complexity)]
    fn gold<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        end: usize,
    ) -> Option<(Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>)> {
        let gold = self.gold.as_ref()?;
        let (tasks, labels): (Vec<i64>, Vec<i64>) = (start..end.min(gold.len()))
            .filter_map(|t| gold[t].map(|l| (t as i64, i64::from(l))))
            .unzip();
        Some((tasks.into_pyarray(py), labels.into_pyarray(py)))
    }

    /// The finished driver's result as `crowdagg aggregate --format csv|json` writes it.
    fn write<'py>(
        &self,
        py: Python<'py>,
        driver: &PyDriver,
        format: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        write_result(py, &self.data, driver, format)
    }
}

/// The finished driver's result as `crowdagg aggregate --format csv|json` writes it, with
/// `names` (a loaded table, or the names of a run whose table is never in one place).
fn write_result<'py>(
    py: Python<'py>,
    names: &(impl ResultNames + ?Sized),
    driver: &PyDriver,
    format: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let result = driver
        .result
        .as_ref()
        .ok_or_else(|| PyValueError::new_err("the driver has not finished"))?;
    if !matches!(format, "csv" | "json") {
        return Err(PyValueError::new_err(format!(
            "format {format:?}: csv or json"
        )));
    }
    let (name, report) = (driver.name, &driver.report);
    let mut out = Vec::new();
    // The writers format rows on every thread: without the interpreter lock held.
    py.detach(|| match format {
        "csv" => crowdagg::output::write_csv(&mut out, names, result),
        _ => crowdagg::output::write_json(&mut out, names, result, name, report),
    })
    .map_err(|e| {
        to_py(Error::from(crowdagg::error::InputError::Io {
            path: "<output>".into(),
            source: e,
        }))
    })?;
    Ok(PyBytes::new(py, &out))
}

/// Adds the classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyShard>()?;
    m.add_class::<PyDriver>()?;
    m.add_class::<PyOwner>()?;
    m.add_class::<PyTable>()?;
    Ok(())
}
