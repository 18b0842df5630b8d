//! Writers: aggregated labels as CSV, or the whole fit as JSON shaped like
//! `scripts/crowdkit_reference.py`'s output so a run can be diffed against crowd-kit.

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::aggregation::Aggregation;
use crate::methods::ParamReport;
use crate::methods::{MultiLabelAggregation, PairwiseAggregation};
use crate::pairwise::PairwiseResponses;
use crate::responses::{LabelCounts, Responses};

mod families;

#[cfg(feature = "png")]
#[cfg_attr(docsrs, doc(cfg(feature = "png")))]
pub use families::{mask_file_names, write_mask_png, write_masks_png, write_segmentation_index};
pub use families::{
    write_embeddings_csv, write_embeddings_json, write_texts_csv, write_texts_json,
};

/// The names [`write_csv`] needs: those of the tasks and labels. A loaded [`Responses`], the
/// names of a sharded run ([`crate::shard::Names`]), or [`LabelCounts`]. `Sync`: the CSV
/// writer formats blocks of rows on several threads.
pub trait TaskLabelNames: Sync {
    /// Name of task `t`.
    fn task_name(&self, t: usize) -> &str;
    /// Name of label `l`.
    fn label_name(&self, l: usize) -> &str;
    /// All label names, in label order.
    fn label_names(&self) -> Vec<&str>;
    /// The names of tasks `tasks` side by side in one string (their concatenation), where
    /// they are kept so; by default `None` (the writers then take the names one by one).
    fn task_names_side_by_side(&self, tasks: std::ops::Range<usize>) -> Option<&str> {
        let _ = tasks;
        None
    }
}

/// The names [`write_json`] and the worker tables need besides: a loaded [`Responses`], or the
/// names of a sharded run ([`crate::shard::Names`]), whose table is never in one place.
pub trait ResultNames: TaskLabelNames {
    /// Name of worker `w`.
    fn worker_name(&self, w: usize) -> &str;
    /// Number of workers.
    fn n_workers(&self) -> usize;
    /// The distinct labels worker `w` used, ascending.
    fn observed_labels(&self, w: usize) -> Vec<usize>;
}

/// [`needs_quotes`] of many bytes (names side by side): by vectorised searches, which cost
/// more than a loop for one short name but take a block's names 16–32 bytes at a time.
fn any_needs_quotes(text: &[u8]) -> bool {
    memchr::memchr3(b',', b'"', b'\n', text).is_some() || memchr::memchr(b'\r', text).is_some()
}

/// Whether `field` must be quoted in CSV (holds a comma, a quote, CR or LF).
fn needs_quotes(field: &[u8]) -> bool {
    field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
}

impl TaskLabelNames for Responses {
    fn task_name(&self, t: usize) -> &str {
        Responses::task_name(self, t)
    }
    fn label_name(&self, l: usize) -> &str {
        Responses::label_name(self, l)
    }
    fn label_names(&self) -> Vec<&str> {
        Responses::label_names(self)
    }
    fn task_names_side_by_side(&self, tasks: std::ops::Range<usize>) -> Option<&str> {
        Some(self.task_names_span(tasks))
    }
}

impl ResultNames for Responses {
    fn worker_name(&self, w: usize) -> &str {
        Responses::worker_name(self, w)
    }
    fn n_workers(&self) -> usize {
        Responses::n_workers(self)
    }
    fn observed_labels(&self, w: usize) -> Vec<usize> {
        // Its rows are sorted by task, not label.
        let mut seen = vec![false; self.n_labels()];
        for &l in self.by_worker().row(w).1 {
            seen[l as usize] = true;
        }
        seen.into_iter()
            .enumerate()
            .filter_map(|(l, used)| used.then_some(l))
            .collect()
    }
}

impl TaskLabelNames for LabelCounts {
    fn task_name(&self, t: usize) -> &str {
        LabelCounts::task_name(self, t)
    }
    fn label_name(&self, l: usize) -> &str {
        LabelCounts::label_name(self, l)
    }
    fn label_names(&self) -> Vec<&str> {
        LabelCounts::label_names(self)
    }
    fn task_names_side_by_side(&self, tasks: std::ops::Range<usize>) -> Option<&str> {
        Some(self.task_names_span(tasks))
    }
}

/// Writes `task,label,confidence` rows in task order. Fields are quoted when they need it,
/// as the csv crate's writer does (the bytes are the same; a test holds them to it).
///
/// Rows are formatted in parallel, a block of tasks per buffer, and the buffers written in
/// task order: formatting 10⁵–10⁷ floats is most of the cost, writing them is a copy, done
/// by the caller's thread while rayon's global pool formats the next blocks. Called from a
/// thread of a rayon pool (inside `pool.install`), the blocks are formatted by that pool and
/// written after each wave, with no overlap: waiting there for the pool could wait for itself
/// (a one-thread pool would never return).
pub fn write_csv<W: Write>(
    mut out: W,
    data: &(impl TaskLabelNames + ?Sized),
    result: &Aggregation,
) -> io::Result<()> {
    use rayon::prelude::*;
    /// Tasks per buffer (≈ 20–30 bytes each). (Buffers of 2,048 tasks, which stay under
    /// glibc's mmap threshold, saved no measurable time at 10⁶ tasks and cost 0.1 s of waves
    /// at 10⁷.)
    const BLOCK: usize = 16 * 1024;
    /// Buffers formatted together (a wave): the caller writes one wave while the threads
    /// format the next, with one more wave queued, so at most ≈ 6 MB are held whatever the
    /// number of tasks.
    const WAVE: usize = 4;
    out.write_all(b"task,label,confidence\n")?;
    let labels: Vec<PaddedField> = data
        .label_names()
        .into_iter()
        .map(PaddedField::new)
        .collect();
    let rows = result.labels.len().min(result.confidence.len());
    let format_block = |block: usize| {
        let range = block * BLOCK..((block + 1) * BLOCK).min(rows);
        let mut buffer = Vec::with_capacity(range.len() * 32);
        let mut floats = FloatCache::new();
        // Names side by side that need no quotes (the usual case) are looked at in one pass,
        // then copied without a look at each (−12 % of MV's formatting at 10⁶ tasks), from
        // where they are side by side (`at`).
        let plain = data
            .task_names_side_by_side(range.clone())
            .filter(|names| !any_needs_quotes(names.as_bytes()));
        let mut at = 0;
        for t in range {
            match plain {
                Some(names) => {
                    let len = data.task_name(t).len();
                    push_side_by_side(&mut buffer, names.as_bytes(), at, len);
                    at += len;
                }
                None => push_csv_field(&mut buffer, data.task_name(t)),
            }
            buffer.push(b',');
            labels[result.labels[t] as usize].push(&mut buffer);
            floats.push(&mut buffer, result.confidence[t]);
            buffer.push(b'\n');
        }
        buffer
    };
    let blocks = rows.div_ceil(BLOCK);
    let format_wave = |first: usize| -> Vec<Vec<u8>> {
        (first..(first + WAVE).min(blocks))
            .into_par_iter()
            .map(format_block)
            .collect()
    };
    let waves = (0..blocks).step_by(WAVE);
    // On a thread of the pool (a caller inside `rayon`), waiting for the pool's formatting
    // could wait for itself: one wave after another there.
    if waves.len() <= 1 || rayon::current_thread_index().is_some() {
        for first in waves {
            for buffer in format_wave(first) {
                out.write_all(&buffer)?;
            }
        }
        return out.flush();
    }
    // The waves formatted by a job of the global pool while this thread writes (the output
    // need not be `Send`); a write error drops the receiver, which ends the formatting. A
    // thread of its own for the job (as before) cost its creation, its allocator's first
    // fresh page and a third thread on the cores: Wawa at 10⁶ answers 48–53 → 45–48 ms
    // (BENCHMARKS.md, session 20). A panic while formatting ends the waves early and goes on,
    // with its own payload, from the end of the scope: the cut output is not flushed.
    rayon::in_place_scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move |_| {
            for first in waves {
                if sender.send(format_wave(first)).is_err() {
                    break;
                }
            }
        });
        for wave in receiver {
            for buffer in wave {
                out.write_all(&buffer)?;
            }
        }
        Ok::<(), io::Error>(())
    })?;
    out.flush()
}

/// Appends `text[at..at + len]` (a name among names side by side): a name of up to 16 bytes
/// with 16 bytes of text from its start by one copy of those ([`push_padded`]), others as
/// they are. A copy of a length known only at run time calls `memcpy`, whose call cost more
/// than the copy of a task name (≈ 7 bytes).
#[inline]
fn push_side_by_side(out: &mut Vec<u8>, text: &[u8], at: usize, len: usize) {
    match text.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        Some(sixteen) if len <= 16 => push_padded(out, sixteen, len),
        _ => out.extend_from_slice(&text[at..at + len]),
    }
}

/// Appends `padded[..len]` by copying all of `padded` (a copy of a known size, inlined, where
/// one of `len` bytes calls `memcpy`) and cutting the rest off.
#[inline]
fn push_padded(out: &mut Vec<u8>, padded: &[u8], len: usize) {
    debug_assert!(
        len <= padded.len(),
        "a padded field longer than its padding"
    );
    let at = out.len();
    out.extend_from_slice(padded);
    out.truncate(at + len);
}

/// A short field followed by `,`, zero-padded to [`PaddedField::WIDTH`] bytes for
/// [`push_padded`]; longer ones as they are.
struct PaddedField {
    bytes: Vec<u8>,
    len: usize,
}

impl PaddedField {
    const WIDTH: usize = 16;

    fn new(name: &str) -> Self {
        let mut bytes = Vec::new();
        push_csv_field(&mut bytes, name);
        bytes.push(b',');
        let len = bytes.len();
        bytes.resize(len.max(Self::WIDTH), 0);
        Self { bytes, len }
    }

    #[inline]
    fn push(&self, out: &mut Vec<u8>) {
        match self.bytes.first_chunk::<{ Self::WIDTH }>() {
            Some(head) if self.len <= Self::WIDTH => push_padded(out, head, self.len),
            _ => out.extend_from_slice(&self.bytes[..self.len]),
        }
    }
}

/// The text of recently printed floats, direct-mapped by their bits: confidences repeat a
/// lot (a vote share k/n takes a few dozen values), and copying 2–18 bytes is several
/// times cheaper than printing them again.
struct FloatCache {
    slots: Vec<(u64, u8, [u8; 24])>,
}

impl FloatCache {
    const BITS: u32 = 6;

    fn new() -> Self {
        // A length of 0 marks an empty slot (every float prints at least one byte).
        Self {
            slots: vec![(0, 0, [0; 24]); 1 << Self::BITS],
        }
    }

    /// Appends `value` as [`push_display_f64`] does.
    fn push(&mut self, out: &mut Vec<u8>, value: f64) {
        let bits = value.to_bits();
        let slot = &mut self.slots
            [(bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - Self::BITS)) as usize];
        if slot.0 == bits && slot.1 != 0 {
            push_padded(out, &slot.2, usize::from(slot.1));
            return;
        }
        let start = out.len();
        push_display_f64(out, value);
        let text = &out[start..];
        if text.len() <= slot.2.len() {
            slot.0 = bits;
            slot.1 = text.len() as u8;
            slot.2[..text.len()].copy_from_slice(text);
        }
    }
}

/// Appends `field` as the csv crate's writer does by default: as is, or in double quotes
/// (inner quotes doubled) when it holds a comma, a quote, CR or LF.
fn push_csv_field(out: &mut Vec<u8>, field: &str) {
    let bytes = field.as_bytes();
    if !needs_quotes(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    for &b in bytes {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Appends `value` as `format!("{value}")` prints it: the shortest digits that read back
/// as `value`, in plain decimal notation (`1`, `0.75`, `0.0000001`, `-0`, `NaN`, `inf`).
/// The digits come from zmij (several times faster than `core::fmt`'s float path, which was
/// most of the cost of writing a result, and a little faster than ryu, used before: see
/// BENCHMARKS.md, session 11); both print the shortest round-trip digits, the closest to the
/// value among them, and a test holds the bytes to `format!`'s.
fn push_display_f64(out: &mut Vec<u8>, value: f64) {
    if !value.is_finite() {
        out.extend_from_slice(match value {
            f64::INFINITY => b"inf",
            f64::NEG_INFINITY => b"-inf",
            _ => b"NaN",
        });
        return;
    }
    if short_dyadic(value) {
        // Possibly halfway between two shortest candidates (see below): core::fmt decides.
        use std::io::Write as _;
        let _ = write!(out, "{value}");
        return;
    }
    let mut buffer = zmij::Buffer::new();
    let text = buffer.format_finite(value).as_bytes();
    // Between 1e-5 and 1e16 zmij writes plain decimals, as Display, but integers with `.0`;
    // else `d.ddde±xx`. Well inside that range (the shortest digits may round up to the next
    // power of ten: not past 1e15 from below it) there is no `e` to look for; the search is a
    // call to `memchr` per printed float (8 M of Wawa's 614 M instructions at 10⁶ answers).
    let plain = (1e-4..1e15).contains(&value.abs());
    if plain || !text.contains(&b'e') {
        out.extend_from_slice(text.strip_suffix(b".0").unwrap_or(text));
        return;
    }
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    // `d.ddd`, `0.000ddd` or `d.ddde±x`: split into the digits and the power of ten of the
    // first one.
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e') {
        Some(at) => (&text[..at], parse_exponent(&text[at + 1..])),
        None => (text, 0),
    };
    // value = 0.d₁d₂… × 10^point once the leading zeros are gone.
    let mut digits = [0u8; 32];
    let mut n_digits = 0;
    let mut point = exponent;
    let mut before_point = true;
    for &b in mantissa {
        match b {
            b'.' => before_point = false,
            b'0' if n_digits == 0 => point -= i32::from(!before_point),
            _ => {
                digits[n_digits] = b;
                n_digits += 1;
                point += i32::from(before_point);
            }
        }
    }
    while n_digits > 0 && digits[n_digits - 1] == b'0' {
        n_digits -= 1;
    }
    let digits = &digits[..n_digits];
    if may_be_a_tie(value, point, n_digits) {
        use std::io::Write as _;
        let _ = write!(out, "{value}");
        return;
    }
    if negative {
        out.push(b'-');
    }
    if digits.is_empty() {
        out.push(b'0');
        return;
    }
    if point <= 0 {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + (-point) as usize, b'0');
        out.extend_from_slice(digits);
    } else if point as usize >= digits.len() {
        out.extend_from_slice(digits);
        out.resize(out.len() + point as usize - digits.len(), b'0');
    } else {
        out.extend_from_slice(&digits[..point as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[point as usize..]);
    }
}

/// Whether `value` lies exactly halfway between two decimals of `n_digits` digits, where zmij
/// (ties to even) and `core::fmt` (ties away from zero) may pick different ones. Halfway
/// means the exact value of the double has `n_digits + 1` significant digits: with
/// value = m·2^q, m odd, q < 0, it has -q digits after the point and `point` (from the
/// shortest digits, one more when they rounded up to a power of ten) before, so the count
/// is -q + point (+1 at most). An integer below 2⁵³ is printed exactly (no tie); larger
/// ones are left to `core::fmt`.
fn may_be_a_tie(value: f64, point: i32, n_digits: usize) -> bool {
    let (m, q) = odd_mantissa(value);
    if m == 0 {
        return false;
    }
    if q >= 0 {
        return value.abs() >= 9_007_199_254_740_992.0;
    }
    let exact_digits = point - q;
    let n = n_digits as i32;
    exact_digits == n + 1 || exact_digits == n + 2
}

/// Whether `value` = m·2^q (m odd) has -24 ≤ q < 0, or is an integer of 2⁵³ or more: the
/// only values zmij prints without an exponent that can lie halfway between two shortest
/// candidates ([`may_be_a_tie`]: a tie needs -q + point ≤ 19 and zmij's plain range has
/// point ≥ -4).
fn short_dyadic(value: f64) -> bool {
    let (m, q) = odd_mantissa(value);
    m != 0 && ((-24..0).contains(&q) || (q >= 0 && value.abs() >= 9_007_199_254_740_992.0))
}

/// (m, q) with |value| = m·2^q and m odd, or m = 0 for zero.
fn odd_mantissa(value: f64) -> (u64, i32) {
    let bits = value.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (m, q) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | 1 << 52, biased - 1075),
    };
    if m == 0 {
        return (0, 0);
    }
    let zeros = m.trailing_zeros();
    (m >> zeros, q + zeros as i32)
}

/// The `±x` after zmij's `e`.
fn parse_exponent(text: &[u8]) -> i32 {
    let (sign, text) = match text.split_first() {
        Some((b'-', rest)) => (-1, rest),
        Some((b'+', rest)) => (1, rest),
        _ => (1, text),
    };
    sign * text.iter().fold(0i32, |n, &d| n * 10 + i32::from(d - b'0'))
}

/// Writes the per-label probabilities (crowd-kit's `probas_`): a header `task,<label>,…`
/// with the labels in label order (as in the JSON output), then one row per task in task
/// order. Fails with [`io::ErrorKind::InvalidInput`] before writing anything when the method
/// has no probabilities ([`Aggregation::probabilities`] is `None`).
pub fn write_probas_csv<W: Write>(
    out: W,
    data: &Responses,
    result: &Aggregation,
) -> io::Result<()> {
    let probabilities = result.probabilities.as_ref().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the method has no probabilities",
        )
    })?;
    let mut writer = csv::Writer::from_writer(out);
    let mut header = vec!["task"];
    header.extend(data.label_names());
    writer.write_record(&header).map_err(io_error)?;
    let mut fields: Vec<String> = Vec::with_capacity(header.len());
    for (t, row) in probabilities.rows().into_iter().enumerate() {
        fields.clear();
        fields.push(data.task_name(t).to_owned());
        fields.extend(row.iter().map(|p| p.to_string()));
        writer.write_record(&fields).map_err(io_error)?;
    }
    writer.flush()
}

/// Whether [`write_workers_csv`] has something to write for `result`.
pub fn has_worker_model(result: &Aggregation) -> bool {
    result.errors.is_some() || result.skills.is_some()
}

/// Writes the worker model. Methods with confusion matrices (crowd-kit's `errors_`): long
/// format `worker,true_label,label,probability`, P(answer `label` | true label), in worker,
/// true-label and label order, for the labels the worker used (as the JSON `errors`).
/// Methods with one skill per worker (`skills_`): `worker,skill`, in worker order, workers
/// without a skill left out. Fails with [`io::ErrorKind::InvalidInput`] before writing
/// anything when the method has neither ([`has_worker_model`]).
pub fn write_workers_csv<W: Write>(
    out: W,
    data: &Responses,
    result: &Aggregation,
) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    let labels = data.label_names();
    if let Some(errors) = &result.errors {
        writer
            .write_record(["worker", "true_label", "label", "probability"])
            .map_err(io_error)?;
        for w in 0..data.n_workers() {
            let used: Vec<usize> = ResultNames::observed_labels(data, w);
            for (c, true_label) in labels.iter().enumerate() {
                for &k in &used {
                    let p = errors[[w, k, c]].to_string();
                    writer
                        .write_record([data.worker_name(w), true_label, labels[k], &p])
                        .map_err(io_error)?;
                }
            }
        }
    } else if let Some(skills) = &result.skills {
        writer.write_record(["worker", "skill"]).map_err(io_error)?;
        for (w, skill) in skills.iter().enumerate() {
            if let Some(skill) = skill {
                writer
                    .write_record([data.worker_name(w), &skill.to_string()])
                    .map_err(io_error)?;
            }
        }
    } else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the method has no worker model (skills or confusion matrices)",
        ));
    }
    writer.flush()
}

/// The csv crate's error as the I/O error underneath, so callers see its kind (broken pipe…).
/// Writes a [`MultiLabelAggregation`] as CSV `task,labels`, each task's classes joined by
/// `separator` (the one its input used).
pub fn write_multilabel_csv<W: Write>(
    out: W,
    result: &MultiLabelAggregation,
    separator: char,
) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(["task", "labels"]).map_err(io_error)?;
    let separator = separator.to_string();
    for (t, task) in result.tasks.iter().enumerate() {
        let joined = result.class_names(t).join(&separator);
        writer
            .write_record([task.as_str(), joined.as_str()])
            .map_err(io_error)?;
    }
    writer.flush()
}

/// Writes a [`MultiLabelAggregation`] as one JSON object (members sorted by name):
/// `classes`, `inner` (the inner method's class name), `labels` (task → its classes) and
/// `method` (`BinaryRelevance`), then a newline.
pub fn write_multilabel_json<W: Write>(
    mut out: W,
    result: &MultiLabelAggregation,
    inner: &str,
) -> io::Result<()> {
    let labels: serde_json::Map<String, serde_json::Value> = result
        .tasks
        .iter()
        .enumerate()
        .map(|(t, task)| (task.clone(), result.class_names(t).into()))
        .collect();
    let report = serde_json::json!({
        "method": "BinaryRelevance",
        "inner": inner,
        "classes": result.classes,
        "labels": labels,
    });
    writeln!(out, "{report}")
}

/// How `evaluate` and `metrics` tables are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Table {
    /// Aligned columns for a terminal.
    Text,
    /// CSV with a header row.
    Csv,
    /// One JSON value.
    Json,
}

/// One method's outcome on the gold tasks: a row of `crowdagg evaluate`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvaluationRow {
    /// The method's CLI name.
    pub method: &'static str,
    /// Its crowd-kit class name.
    pub name: &'static str,
    /// Accuracy on the gold tasks present in the data (`None` when none was scored).
    pub accuracy: Option<f64>,
    /// How many gold tasks were scored.
    pub gold_tasks: usize,
    /// Iterations run, for iterative methods.
    pub iterations: Option<usize>,
    /// Wall time of the fit.
    pub seconds: f64,
    /// Why the method was skipped or failed, or how to read its accuracy.
    pub note: String,
}

/// Writes the `evaluate` table: text columns, CSV `method,accuracy,gold_tasks,iterations,
/// seconds,note`, or a JSON array of rows.
pub fn write_evaluation<W: Write>(
    mut out: W,
    rows: &[EvaluationRow],
    format: Table,
) -> io::Result<()> {
    match format {
        Table::Json => writeln!(out, "{}", serde_json::to_string(rows)?),
        Table::Csv => {
            writeln!(out, "method,accuracy,gold_tasks,iterations,seconds,note")?;
            for r in rows {
                writeln!(
                    out,
                    "{},{},{},{},{:.6},{}",
                    r.method,
                    r.accuracy.map_or(String::new(), |a| a.to_string()),
                    r.gold_tasks,
                    r.iterations.map_or(String::new(), |i| i.to_string()),
                    r.seconds,
                    csv_field(&r.note)
                )?;
            }
            Ok(())
        }
        Table::Text => {
            writeln!(
                out,
                "{:<12} {:<24} {:>8} {:>6} {:>10} {:>9}  note",
                "method", "type", "accuracy", "gold", "iterations", "seconds"
            )?;
            for r in rows {
                writeln!(
                    out,
                    "{:<12} {:<24} {:>8} {:>6} {:>10} {:>9.3}  {}",
                    r.method,
                    r.name,
                    r.accuracy.map_or("-".to_string(), |a| format!("{a:.4}")),
                    r.gold_tasks,
                    r.iterations.map_or("-".to_string(), |i| i.to_string()),
                    r.seconds,
                    r.note
                )?;
            }
            Ok(())
        }
    }
}

/// Writes the `metrics` table of `(metric, value)` rows (`null`: not defined): text columns,
/// CSV `metric,value`, or one JSON object (members sorted by name).
pub fn write_metrics<W: Write>(
    mut out: W,
    rows: &[(&str, serde_json::Value)],
    format: Table,
) -> io::Result<()> {
    let shown = |value: &serde_json::Value, null: &str| {
        if value.is_null() {
            null.to_string()
        } else {
            value.to_string()
        }
    };
    match format {
        Table::Json => {
            let object: serde_json::Map<String, serde_json::Value> = rows
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            writeln!(out, "{}", serde_json::Value::Object(object))
        }
        Table::Csv => {
            writeln!(out, "metric,value")?;
            for (key, value) in rows {
                writeln!(out, "{key},{}", shown(value, ""))?;
            }
            Ok(())
        }
        Table::Text => {
            for (key, value) in rows {
                writeln!(out, "{key:<26} {}", shown(value, "-"))?;
            }
            Ok(())
        }
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a newline.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn io_error(error: csv::Error) -> io::Error {
    match error.into_kind() {
        csv::ErrorKind::Io(error) => error,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// A JSON writer's error as the I/O error it wraps (a closed pipe stays `BrokenPipe`), or as
/// an other-kind error (a value JSON cannot hold).
fn json_io_error(error: serde_json::Error) -> io::Error {
    match error.io_error_kind() {
        Some(kind) => io::Error::new(kind, error),
        None => io::Error::other(error),
    }
}

/// The JSON report: `method`, `params`, `labels`, `probas`, `scores` (only when the method
/// has them), `skills`, `errors`, `priors`,
/// `confidence`, `n_iter_run`, `loss_history`, `stop_reason`.
pub fn write_json<W: Write>(
    out: W,
    data: &(impl ResultNames + ?Sized),
    result: &Aggregation,
    method: &str,
    params: &ParamReport,
) -> io::Result<()> {
    let report = Report {
        data,
        result,
        method,
        params,
    };
    serde_json::to_writer(out, &report).map_err(json_io_error)
}

struct Report<'a, N: ?Sized> {
    data: &'a N,
    result: &'a Aggregation,
    method: &'a str,
    params: &'a ParamReport,
}

/// A map serialised from an iterator factory (keeps our order, no intermediate Value).
struct MapOf<F>(F);

impl<F, I, K, V> Serialize for MapOf<F>
where
    F: Fn() -> I,
    I: Iterator<Item = (K, V)>,
    K: Serialize,
    V: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map((self.0)())
    }
}

impl<N: ResultNames + ?Sized> Serialize for Report<'_, N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (data, result) = (self.data, self.result);
        let labels = data.label_names();
        let labels = &labels;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("method", self.method)?;
        map.serialize_entry("params", &MapOf(|| self.params.iter().map(|(k, v)| (k, v))))?;
        map.serialize_entry(
            "labels",
            &MapOf(|| {
                result
                    .labels
                    .iter()
                    .enumerate()
                    .map(|(t, &l)| (data.task_name(t), labels[l as usize]))
            }),
        )?;
        match &result.probabilities {
            Some(p) => map.serialize_entry(
                "probas",
                &MapOf(|| {
                    p.rows().into_iter().enumerate().map(move |(t, row)| {
                        let cells = move || row.into_iter().enumerate();
                        (
                            data.task_name(t),
                            MapOf(move || cells().map(|(l, v)| (labels[l], *v))),
                        )
                    })
                }),
            )?,
            None => map.serialize_entry("probas", &())?,
        }
        if let Some(scores) = &result.scores {
            map.serialize_entry(
                "scores",
                &MapOf(|| {
                    scores.rows().into_iter().enumerate().map(move |(t, row)| {
                        let cells = move || row.into_iter().enumerate();
                        (
                            data.task_name(t),
                            MapOf(move || cells().map(|(l, v)| (labels[l], *v))),
                        )
                    })
                }),
            )?;
        }
        match &result.skills {
            Some(s) => map.serialize_entry(
                "skills",
                &MapOf(|| {
                    s.iter()
                        .enumerate()
                        .filter_map(|(w, v)| v.map(|v| (data.worker_name(w), v)))
                }),
            )?,
            None => map.serialize_entry("skills", &())?,
        }
        match &result.errors {
            Some(errors) => map.serialize_entry(
                "errors",
                &MapOf(|| {
                    (0..data.n_workers()).map(move |w| {
                        (
                            data.worker_name(w),
                            MapOf(move || {
                                data.observed_labels(w).into_iter().map(move |k| {
                                    (
                                        labels[k],
                                        MapOf(move || {
                                            (0..labels.len())
                                                .map(move |c| (labels[c], errors[[w, k, c]]))
                                        }),
                                    )
                                })
                            }),
                        )
                    })
                }),
            )?,
            None => map.serialize_entry("errors", &())?,
        }
        match &result.priors {
            Some(p) => map.serialize_entry(
                "priors",
                &MapOf(|| p.iter().enumerate().map(|(l, v)| (labels[l], *v))),
            )?,
            None => map.serialize_entry("priors", &())?,
        }
        map.serialize_entry(
            "confidence",
            &MapOf(|| {
                result
                    .confidence
                    .iter()
                    .enumerate()
                    .map(|(t, c)| (data.task_name(t), *c))
            }),
        )?;
        let report = &result.report;
        let iterative = report.stop_reason != crate::StopReason::NotIterative;
        map.serialize_entry("n_iter_run", &iterative.then_some(report.iterations))?;
        map.serialize_entry(
            "loss_history",
            &(iterative || !report.loss_history.is_empty()).then_some(&report.loss_history),
        )?;
        map.serialize_entry("stop_reason", &report.stop_reason)?;
        map.end()
    }
}

/// Writes the response table as delimited text `task,worker,label` (any ASCII delimiter),
/// rows grouped by task in task-id order, each task's rows by worker then label: what
/// `crowdagg convert` writes for a CSV/TSV name. Reading it back gives the same
/// [`Responses`] (duplicates included).
pub fn write_responses_csv<W: Write>(out: W, data: &Responses, delimiter: u8) -> io::Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(out);
    writer
        .write_record(["task", "worker", "label"])
        .map_err(io_error)?;
    for t in 0..data.n_tasks() {
        let (workers, labels) = data.task_responses(t);
        for (&w, &l) in workers.iter().zip(labels) {
            writer
                .write_record([data.task_name(t), data.worker_name(w), data.label_name(l)])
                .map_err(io_error)?;
        }
    }
    writer.flush()
}

#[cfg(feature = "parquet")]
pub use self::parquet::{write_parquet, write_responses_parquet, write_workers_parquet};

/// Parquet writers (feature `parquet`).
#[cfg(feature = "parquet")]
mod parquet {
    use std::io::{self, Write};
    use std::sync::Arc;

    use arrow_array::types::UInt32Type;
    use arrow_array::{
        ArrayRef, DictionaryArray, Float64Array, RecordBatch, StringArray, UInt32Array,
    };
    use arrow_schema::{ArrowError, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;

    use super::ResultNames;
    use crate::aggregation::Aggregation;
    use crate::responses::Responses;

    /// Rows per row group of the files written here (readers decode row groups in parallel).
    const ROW_GROUP: usize = 1 << 18;

    fn arrow_error(error: impl std::fmt::Display) -> io::Error {
        io::Error::other(error.to_string())
    }

    /// Writes one table (snappy-compressed, dictionary-encoded strings) to `out`. The file is
    /// assembled in memory first: Parquet's footer comes last and the writer needs `Send`.
    fn write_table<W: Write>(mut out: W, columns: Vec<(String, ArrayRef)>) -> io::Result<()> {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(name, array)| Field::new(name, array.data_type().clone(), false))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(
            schema.clone(),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .map_err(|e: ArrowError| arrow_error(e))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP))
            .build();
        let mut writer =
            ArrowWriter::try_new(Vec::new(), schema, Some(properties)).map_err(arrow_error)?;
        writer.write(&batch).map_err(arrow_error)?;
        let bytes = writer.into_inner().map_err(arrow_error)?;
        out.write_all(&bytes)?;
        out.flush()
    }

    fn strings<'a>(names: impl Iterator<Item = &'a str>) -> ArrayRef {
        Arc::new(StringArray::from_iter_values(names))
    }

    /// Names as a dictionary column: `keys` index `values`.
    fn dictionary<'a>(keys: Vec<u32>, values: impl Iterator<Item = &'a str>) -> ArrayRef {
        let array = DictionaryArray::<UInt32Type>::new(UInt32Array::from(keys), strings(values));
        Arc::new(array)
    }

    /// Writes the aggregation as Parquet: `task` (string), `label` (string), `confidence`
    /// (double) and, when the method has probabilities, one double column `proba_<label>` per
    /// label in label order (crowd-kit's `probas_`). One row per task, in task order; the
    /// same values, bit for bit, as [`write_csv`](super::write_csv) and
    /// [`write_probas_csv`](super::write_probas_csv) print.
    pub fn write_parquet<W: Write>(
        out: W,
        data: &Responses,
        result: &Aggregation,
    ) -> io::Result<()> {
        let mut columns = vec![
            ("task".to_string(), strings(data.task_names())),
            (
                "label".to_string(),
                strings(result.labels.iter().map(|&l| data.label_name(l))),
            ),
            (
                "confidence".to_string(),
                Arc::new(Float64Array::from(result.confidence.clone())) as ArrayRef,
            ),
        ];
        if let Some(probabilities) = &result.probabilities {
            for (k, label) in data.label_names().into_iter().enumerate() {
                let column = probabilities.column(k).to_vec();
                columns.push((
                    format!("proba_{label}"),
                    Arc::new(Float64Array::from(column)),
                ));
            }
        }
        write_table(out, columns)
    }

    /// Writes the worker model as Parquet, in the shapes of
    /// [`write_workers_csv`](super::write_workers_csv): `worker, true_label, label,
    /// probability` for confusion matrices, else `worker, skill`. Fails with
    /// [`io::ErrorKind::InvalidInput`] when the method has neither.
    pub fn write_workers_parquet<W: Write>(
        out: W,
        data: &Responses,
        result: &Aggregation,
    ) -> io::Result<()> {
        let labels = data.label_names();
        if let Some(errors) = &result.errors {
            let (mut workers, mut truth, mut answer, mut p) = (vec![], vec![], vec![], vec![]);
            for w in 0..data.n_workers() {
                let used: Vec<usize> = ResultNames::observed_labels(data, w);
                for c in 0..labels.len() {
                    for &k in &used {
                        workers.push(w as u32);
                        truth.push(c as u32);
                        answer.push(k as u32);
                        p.push(errors[[w, k, c]]);
                    }
                }
            }
            write_table(
                out,
                vec![
                    ("worker".into(), dictionary(workers, data.worker_names())),
                    (
                        "true_label".into(),
                        dictionary(truth, labels.iter().copied()),
                    ),
                    ("label".into(), dictionary(answer, labels.iter().copied())),
                    ("probability".into(), Arc::new(Float64Array::from(p))),
                ],
            )
        } else if let Some(skills) = &result.skills {
            let (workers, values): (Vec<u32>, Vec<f64>) = skills
                .iter()
                .enumerate()
                .filter_map(|(w, s)| s.map(|s| (w as u32, s)))
                .unzip();
            write_table(
                out,
                vec![
                    ("worker".into(), dictionary(workers, data.worker_names())),
                    ("skill".into(), Arc::new(Float64Array::from(values))),
                ],
            )
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the method has no worker model (skills or confusion matrices)",
            ))
        }
    }

    /// Writes the response table as Parquet: dictionary-encoded string columns `task`,
    /// `worker`, `label`, rows grouped by task in task-id order (as
    /// [`write_responses_csv`](super::write_responses_csv)), row groups of 2¹⁸ rows. Reading it
    /// back gives the same [`Responses`].
    pub fn write_responses_parquet<W: Write>(out: W, data: &Responses) -> io::Result<()> {
        let by_task = data.by_task();
        let mut tasks = Vec::with_capacity(data.n_responses());
        for t in 0..data.n_tasks() {
            tasks.extend(std::iter::repeat_n(t as u32, by_task.range(t).len()));
        }
        let labels = data.label_names();
        write_table(
            out,
            vec![
                ("task".into(), dictionary(tasks, data.task_names())),
                (
                    "worker".into(),
                    dictionary(by_task.ids().to_vec(), data.worker_names()),
                ),
                (
                    "label".into(),
                    dictionary(
                        by_task.labels().iter().map(|&l| l as u32).collect(),
                        labels.iter().copied(),
                    ),
                ),
            ],
        )
    }
}

/// Writes a pairwise fit as CSV: `item,score`, one row per item in id order (crowd-kit's
/// `scores_`).
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn write_pairwise_csv<W: Write>(
    out: W,
    data: &PairwiseResponses,
    fit: &PairwiseAggregation,
) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(out);
    out.write_record(["item", "score"])?;
    for (item, score) in fit.scores.iter().enumerate() {
        out.write_record([data.item_name(item), &score.to_string()])?;
    }
    out.flush()
}

/// Writes a pairwise fit as one JSON object keyed like crowd-kit's attributes: `method`,
/// `params`, `scores` (by item), `biases` and `skills` (by worker, or `null` where the model has
/// none), `n_iter_run`, `loss_history` and `stop_reason`.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn write_pairwise_json<W: Write>(
    out: W,
    data: &PairwiseResponses,
    fit: &PairwiseAggregation,
    method: &str,
    params: &ParamReport,
) -> io::Result<()> {
    let report = PairwiseReport {
        data,
        fit,
        method,
        params,
    };
    serde_json::to_writer(out, &report).map_err(json_io_error)
}

struct PairwiseReport<'a> {
    data: &'a PairwiseResponses,
    fit: &'a PairwiseAggregation,
    method: &'a str,
    params: &'a ParamReport,
}

/// Per-worker values keyed by worker name, in id order.
fn worker_map<'a>(data: &'a PairwiseResponses, values: &'a [f64]) -> impl Serialize + 'a {
    MapOf(move || {
        values
            .iter()
            .enumerate()
            .map(move |(w, v)| (data.worker_name(w), *v))
    })
}

impl<'a> Serialize for PairwiseReport<'a> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (data, fit) = (self.data, self.fit);
        let by_worker = |values: Option<&'a [f64]>| values.map(|v| worker_map(data, v));
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("method", self.method)?;
        map.serialize_entry("params", &MapOf(|| self.params.iter().map(|(k, v)| (k, v))))?;
        map.serialize_entry(
            "scores",
            &MapOf(|| {
                fit.scores
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (data.item_name(i), *s))
            }),
        )?;
        map.serialize_entry("biases", &by_worker(fit.biases.as_deref()))?;
        map.serialize_entry("skills", &by_worker(fit.skills.as_deref()))?;
        map.serialize_entry("n_iter_run", &fit.report.iterations)?;
        map.serialize_entry("loss_history", &fit.report.loss_history)?;
        map.serialize_entry("stop_reason", &fit.report.stop_reason)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use proptest::prelude::*;

    struct Names {
        tasks: Vec<String>,
        labels: Vec<String>,
    }

    impl TaskLabelNames for Names {
        fn task_name(&self, t: usize) -> &str {
            &self.tasks[t]
        }
        fn label_name(&self, l: usize) -> &str {
            &self.labels[l]
        }
        fn label_names(&self) -> Vec<&str> {
            self.labels.iter().map(String::as_str).collect()
        }
    }

    /// What `write_csv` wrote before it formatted rows itself: the csv crate's writer.
    fn through_csv_crate(names: &impl TaskLabelNames, result: &Aggregation) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer
            .write_record(["task", "label", "confidence"])
            .unwrap();
        for (t, (&label, &confidence)) in result.labels.iter().zip(&result.confidence).enumerate() {
            writer
                .write_record([
                    names.task_name(t),
                    names.label_name(label as usize),
                    &confidence.to_string(),
                ])
                .unwrap();
        }
        writer.into_inner().unwrap()
    }

    fn result(labels: Vec<Label>, confidence: Vec<f64>, n_labels: usize) -> Aggregation {
        let mut result = Aggregation::from_probabilities(Array2::zeros((labels.len(), n_labels)));
        result.labels = labels;
        result.confidence = confidence;
        result
    }

    use crate::responses::Label;

    /// Any float, or one of a few that repeat (the cache's hits), or the all-ones NaN.
    fn confidence() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            (0u8..4).prop_map(|k| f64::from(k) / 3.0),
            Just(f64::from_bits(u64::MAX)),
            Just(-0.0),
        ]
    }

    /// Names that often need quoting: `any::<String>()` alone almost never draws `\r`, `\n`,
    /// `,` or `"`.
    fn csv_name() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[a ,\"\r\n]{0,6}"]
    }

    proptest! {
        #[test]
        fn csv_bytes_match_the_csv_crate(
            rows in prop::collection::vec((csv_name(), 0..3 as Label, confidence()), 0..40),
            labels in prop::collection::vec(csv_name(), 3),
        ) {
            let names = Names {
                tasks: rows.iter().map(|r| r.0.clone()).collect(),
                labels,
            };
            let result = result(
                rows.iter().map(|r| r.1).collect(),
                rows.iter().map(|r| r.2).collect(),
                3,
            );
            let mut ours = Vec::new();
            write_csv(&mut ours, &names, &result).unwrap();
            prop_assert_eq!(ours, through_csv_crate(&names, &result));
        }
    }

    /// The table's names side by side, checked for quotes a block at a time: a block of plain
    /// names, a block where one name needs quotes (and `"` doubled), and a short last block,
    /// all as the csv crate writes them.
    #[test]
    fn task_names_side_by_side_are_quoted_as_one_by_one() {
        let n = 40_000;
        // In task order (after the plain name they start with): a comma and a quote in the
        // second block of 16,384 tasks, a line end alone in the third.
        let name = |t: usize| match t {
            20_000 => "t20000,x".to_string(),
            20_001 => "t20001\"y".to_string(),
            39_999 => "t39999\nz".to_string(),
            _ => format!("t{t:05}"),
        };
        let data =
            Responses::from_triples((0..n).map(|t| (name(t), "w".to_string(), "l".to_string())))
                .unwrap();
        assert!(data.task_names_side_by_side(0..n).is_some());
        let block = |name: &str| data.task_id(name).unwrap() / (16 << 10);
        assert_eq!(
            [block("t20000,x"), block("t20001\"y"), block("t39999\nz")],
            [1, 1, 2]
        );
        let result = result(vec![0; n], (0..n).map(|t| t as f64 / 7.0).collect(), 1);
        let mut ours = Vec::new();
        write_csv(&mut ours, &data, &result).unwrap();
        assert_eq!(ours, through_csv_crate(&data, &result));
        let text = String::from_utf8(ours).unwrap();
        assert!(text.contains("\n\"t20000,x\",l,") && text.contains("\n\"t20001\"\"y\",l,"));
        assert!(text.contains("\n\"t39999\nz\",l,"));
    }

    /// Plain names side by side of every length from 7 to 40 bytes (copied 16 bytes at a time
    /// up to 16, as they are beyond, and at a block's end where 16 bytes are not left), in
    /// several blocks: the csv crate's bytes.
    #[test]
    fn plain_names_side_by_side_of_any_length_are_copied_whole() {
        let n = 40_000;
        let name = |t: usize| {
            format!(
                "{t:07}{}",
                "abcdefghijklmnopqrstuvwxyzABCDEFGH".get(..t % 34).unwrap()
            )
        };
        let data =
            Responses::from_triples((0..n).map(|t| (name(t), "w".to_string(), "l".to_string())))
                .unwrap();
        assert!(data.task_names_side_by_side(0..n).is_some());
        let lengths: std::collections::BTreeSet<usize> =
            (0..n).map(|t| data.task_name(t).len()).collect();
        assert_eq!(lengths, (7..41).collect());
        let result = result(vec![0; n], (0..n).map(|t| t as f64 / n as f64).collect(), 1);
        let mut ours = Vec::new();
        write_csv(&mut ours, &data, &result).unwrap();
        assert_eq!(ours, through_csv_crate(&data, &result));
    }

    fn displayed(value: f64) -> String {
        let mut out = Vec::new();
        push_display_f64(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    proptest! {
        #[test]
        fn floats_print_as_display(bits in any::<u64>()) {
            let value = f64::from_bits(bits);
            prop_assert_eq!(displayed(value), value.to_string());
        }
    }

    #[test]
    fn floats_print_as_display_at_the_edges() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            5e-324,
            1e15,
            1e15f64.next_down(),
            1e-4,
            1e-4f64.next_down(),
            1e16,
            1e17,
            1e21,
            1e22,
            1e23,
            123456789012345680.0,
            f64::from_bits(0x4317_9085_685d_83c9), // 1658206780088562.25: a tie
            0.5 + 2f64.powi(-17),                  // 0.50000762939453125: a tie
            1.0 - 2f64.powi(-20),
            1e-5,
            1e-6,
            1e-7,
            0.1 + 0.2,
        ];
        // Vote shares, the usual confidences, and powers of ten either side.
        for n in 1..=60u32 {
            for k in 0..=n {
                values.push(f64::from(k) / f64::from(n));
            }
        }
        for e in -325..=309 {
            let p = 10f64.powi(e);
            values.extend([p, p * 1.5, p * 0.999_999_999_999, -p / 3.0]);
        }
        // Dyadic values with short exact expansions: where halfway cases live.
        for j in 1..=70 {
            for k in [
                1u64,
                3,
                5,
                7,
                99,
                12_345,
                1 << 20 | 1,
                (1 << 40) + 7,
                (1 << 52) + 1,
            ] {
                let v = k as f64 * 2f64.powi(-j);
                values.extend([v, v + 1.0, v * 1e3, 1.0 - v.min(0.5)]);
            }
        }
        // Uniform bit patterns, without proptest's shrinking (a fixed xorshift sequence).
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.push(f64::from_bits(state));
        }
        for value in values {
            assert_eq!(
                displayed(value),
                value.to_string(),
                "bits {:#x}",
                value.to_bits()
            );
        }
    }

    #[test]
    fn csv_bytes_match_the_csv_crate_across_blocks() {
        // More rows than one block and than the blocks formatted at once (4), names that need
        // quotes, and confidences of every magnitude.
        let n: usize = 70 * 16 * 1024 + 17;
        let names = Names {
            tasks: (0..n)
                .map(|t| match t % 5 {
                    0 => format!("t{t}"),
                    1 => format!("a,{t}"),
                    2 => format!("q\"{t}\""),
                    3 => format!("line\n{t}\r"),
                    _ => String::new(),
                })
                .collect(),
            // Label fields up to 16 bytes with their comma are copied padded, longer ones not.
            labels: vec![
                "yes".into(),
                "no, \"never\"".into(),
                "a label of more than 16 bytes".into(),
            ],
        };
        let result = result(
            (0..n).map(|t| (t % 3) as Label).collect(),
            (0..n)
                .map(|t| match t % 3 {
                    0 => (t % 11) as f64 / 11.0,
                    _ => (t as f64 / 7.0) * 10f64.powi((t % 41) as i32 - 20),
                })
                .collect(),
            3,
        );
        let mut ours = Vec::new();
        write_csv(&mut ours, &names, &result).unwrap();
        let expected = through_csv_crate(&names, &result);
        assert_eq!(ours, expected);
        // Called from a thread of a pool of one (no formatting thread of its own there: it
        // would wait for the pool that waits for it), the same bytes.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let mut inside = Vec::new();
        pool.install(|| write_csv(&mut inside, &names, &result))
            .unwrap();
        assert_eq!(inside, expected);
        // A write that fails after the first two waves (≈ 0.5 MB a block, 4 blocks a wave),
        // with the formatter queued behind: the error, and no formatting left behind.
        struct FailsAfter(usize);
        impl Write for FailsAfter {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 < buf.len() {
                    return Err(io::Error::other("disk full"));
                }
                self.0 -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let error = write_csv(FailsAfter(2 * 4 * 500_000), &names, &result).unwrap_err();
        assert_eq!(error.to_string(), "disk full");
    }
}
