//! Writers of the texts, embeddings and segmentation families: CSV of the chosen answer per
//! task, or JSON keyed like crowd-kit's attributes (`texts`, `embeddings_and_outputs`,
//! `segmentations`, …), and the aggregated masks as PNG files (feature `png`).

use std::io::{self, Write};

use serde::ser::{SerializeMap, Serializer};

use super::{MapOf, io_error};
use crate::aggregation::FitReport;
use crate::embeddings::EmbeddingResponses;
use crate::methods::{EmbeddingAggregation, ParamReport, TextAggregation};
use crate::texts::TextResponses;

/// The JSON object being written: entries go in with `serialize_entry`.
type JsonMap<'a, W> = serde_json::ser::Compound<'a, W, serde_json::ser::CompactFormatter>;

/// Writes `method`, `params`, then what `entries` adds, then `n_iter_run`, `loss_history` and
/// `stop_reason` of `report`.
fn write_report<W: Write>(
    out: W,
    method: &str,
    params: &ParamReport,
    report: &FitReport,
    entries: impl FnOnce(&mut JsonMap<'_, W>) -> Result<(), serde_json::Error>,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::new(out);
    let write = |ser: &mut serde_json::Serializer<W>| {
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("method", method)?;
        map.serialize_entry("params", &MapOf(|| params.iter().map(|(k, v)| (k, v))))?;
        entries(&mut map)?;
        map.serialize_entry("n_iter_run", &report.iterations)?;
        map.serialize_entry("loss_history", &report.loss_history)?;
        map.serialize_entry("stop_reason", &report.stop_reason)?;
        SerializeMap::end(map)
    };
    write(&mut ser).map_err(|e| match e.io_error_kind() {
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    })
}

/// A fit stopped by its observer holds the results of its first tasks only (see
/// [`StopReason::Interrupted`](crate::StopReason::Interrupted)): writing it would drop the
/// other tasks without a word, so the writers refuse it.
fn check_every_task(n_tasks: usize, fitted: usize) -> io::Result<()> {
    if fitted == n_tasks {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "the fit has results for {fitted} of {n_tasks} tasks (it was stopped before the \
             end); a partial fit is not written"
        ),
    ))
}

/// Writes a text fit as CSV: `task,text`, tasks in id order (crowd-kit's `texts_`).
///
/// # Errors
/// Whatever writing to `out` returns; a fit without a text for every task (stopped by its
/// observer) is refused before anything is written.
pub fn write_texts_csv<W: Write>(
    out: W,
    data: &TextResponses,
    fit: &TextAggregation,
) -> io::Result<()> {
    check_every_task(data.n_tasks(), fit.texts.len())?;
    let mut out = csv::Writer::from_writer(out);
    out.write_record(["task", "text"]).map_err(io_error)?;
    for (task, text) in data.task_names().zip(&fit.texts) {
        out.write_record([task, text]).map_err(io_error)?;
    }
    out.flush()
}

/// Writes a text fit as one JSON object: `method`, `params`, `texts` (by task, crowd-kit's
/// `texts_`), `n_iter_run`, `loss_history`, `stop_reason`.
///
/// # Errors
/// Whatever writing to `out` returns; a fit without a text for every task (stopped by its
/// observer) is refused before anything is written.
pub fn write_texts_json<W: Write>(
    out: W,
    data: &TextResponses,
    fit: &TextAggregation,
    method: &str,
    params: &ParamReport,
) -> io::Result<()> {
    check_every_task(data.n_tasks(), fit.texts.len())?;
    let texts = MapOf(|| data.task_names().zip(&fit.texts));
    write_report(out, method, params, &fit.report, |map| {
        map.serialize_entry("texts", &texts)
    })
}

/// An embedding as text: numbers separated by single spaces (what
/// [`read_embeddings`](crate::io::read_embeddings) reads back), each the shortest decimal that
/// reads back to the same `f64`.
fn embedding_text(values: &[f64]) -> String {
    let mut text = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(&v.to_string());
    }
    text
}

/// Writes an embedding fit as CSV: `task,output,embedding` with the chosen row of each task
/// (crowd-kit's `embeddings_and_outputs_`), tasks in id order, the embedding as
/// space-separated numbers.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn write_embeddings_csv<W: Write>(
    out: W,
    data: &EmbeddingResponses,
    fit: &EmbeddingAggregation,
) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(out);
    out.write_record(["task", "output", "embedding"])
        .map_err(io_error)?;
    for (task, &row) in data.task_names().zip(&fit.chosen) {
        out.write_record([task, data.output(row), &embedding_text(data.embedding(row))])
            .map_err(io_error)?;
    }
    out.flush()
}

/// Writes an embedding fit as one JSON object keyed like crowd-kit's attributes: `method`,
/// `params`, `embeddings_and_outputs` (by task: `output`, `embedding`), `texts` (by task: the
/// chosen output; only for `TextRASA` and `TextHRRASA`, whose crowd-kit attribute it is),
/// `scores` (one `[task, worker, output, score]` per input row, in input order),
/// `aggregated_embeddings` (by task), `skills` and `prior_skills` (by worker, `null` for
/// ClosestToAverage; NaN is written `null`), `n_iter_run`, `loss_history`, `stop_reason`.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn write_embeddings_json<'a, W: Write>(
    out: W,
    data: &'a EmbeddingResponses,
    fit: &'a EmbeddingAggregation,
    method: &str,
    params: &ParamReport,
) -> io::Result<()> {
    let chosen = MapOf(|| {
        data.task_names().zip(&fit.chosen).map(|(task, &row)| {
            (
                task,
                Chosen {
                    output: data.output(row),
                    embedding: data.embedding(row),
                },
            )
        })
    });
    let scores: Vec<_> = (0..data.len())
        .map(|r| {
            (
                data.task_name(data.task(r)),
                data.worker_name(data.worker(r)),
                data.output(r),
                fit.scores[r],
            )
        })
        .collect();
    let aggregated = MapOf(|| {
        data.task_names()
            .enumerate()
            .map(|(t, task)| (task, fit.aggregated(t)))
    });
    let by_worker = |values: Option<&'a [f64]>| {
        values.map(|v| MapOf(move || data.worker_names().zip(v.iter().copied())))
    };
    write_report(out, method, params, &fit.report, |map| {
        map.serialize_entry("embeddings_and_outputs", &chosen)?;
        if method.starts_with("Text") {
            let texts = MapOf(|| data.task_names().zip(fit.outputs(data)));
            map.serialize_entry("texts", &texts)?;
        }
        map.serialize_entry("scores", &scores)?;
        map.serialize_entry("aggregated_embeddings", &aggregated)?;
        map.serialize_entry("skills", &by_worker(fit.skills.as_deref()))?;
        map.serialize_entry("prior_skills", &by_worker(fit.prior_skills.as_deref()))
    })
}

#[derive(serde::Serialize)]
struct Chosen<'a> {
    output: &'a str,
    embedding: &'a [f64],
}

#[cfg(feature = "png")]
pub use masks::{mask_file_names, write_mask_png, write_masks_png, write_segmentation_index};

#[cfg(feature = "png")]
mod masks {
    use std::fs;
    use std::io::{self, Write};
    use std::path::Path;

    use serde::ser::SerializeMap;

    use super::{MapOf, io_error, write_report};
    use crate::methods::{ParamReport, SegmentationAggregation};
    use crate::segmentation::{Mask, SegmentationResponses};

    /// Encodes `mask` as a 1-bit grayscale PNG (set = white, 1; unset = black, 0), which
    /// [`read_mask_png`](crate::io::read_mask_png) reads back to the same mask.
    ///
    /// # Errors
    /// Whatever writing to `out` returns; an empty mask (0 pixels wide or high), which PNG
    /// cannot hold, is [`io::ErrorKind::InvalidInput`].
    pub fn write_mask_png<W: Write>(out: W, mask: &Mask) -> io::Result<()> {
        let size = |n: usize| {
            u32::try_from(n).ok().filter(|&n| n > 0).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a PNG needs 1 to 2^32-1 pixels a side",
                )
            })
        };
        let (width, height) = (size(mask.width())?, size(mask.height())?);
        let mut encoder = png::Encoder::new(out, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let line = mask.width().div_ceil(8);
        let mut packed = vec![0u8; line * mask.height()];
        for (row, bits) in mask
            .to_bools()
            .chunks_exact(mask.width())
            .zip(packed.chunks_exact_mut(line))
        {
            for (x, _) in row.iter().enumerate().filter(|(_, set)| **set) {
                bits[x / 8] |= 0x80 >> (x % 8);
            }
        }
        let mut writer = encoder.write_header().map_err(io::Error::other)?;
        writer.write_image_data(&packed).map_err(io::Error::other)?;
        writer.finish().map_err(io::Error::other)
    }

    /// The file name of each task's mask, by task id: `<n>_<task>.png` with n the task id
    /// zero-padded (unique whatever the task names, and sorted like the tasks) and the task name
    /// kept to ASCII letters, digits, `-` and `.` (anything else becomes `_`), at most 64 bytes.
    pub fn mask_file_names(data: &SegmentationResponses) -> Vec<String> {
        let digits = data.n_tasks().max(1).to_string().len();
        (0..data.n_tasks())
            .map(|t| {
                let name: String = data
                    .task_name(t)
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .take(64)
                    .collect();
                format!("{t:0digits$}_{name}.png")
            })
            .collect()
    }

    /// Writes each task's aggregated mask as a PNG file into `dir` (created if missing), named
    /// by [`mask_file_names`]; returns the names.
    ///
    /// # Errors
    /// The first file that cannot be written (the message names it).
    pub fn write_masks_png(
        dir: &Path,
        data: &SegmentationResponses,
        fit: &SegmentationAggregation,
    ) -> io::Result<Vec<String>> {
        super::check_every_task(data.n_tasks(), fit.masks.len())?;
        fs::create_dir_all(dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        let names = mask_file_names(data);
        for (name, mask) in names.iter().zip(&fit.masks) {
            let path = dir.join(name);
            let write = || -> io::Result<()> {
                let mut out = io::BufWriter::new(fs::File::create(&path)?);
                write_mask_png(&mut out, mask)?;
                out.flush()
            };
            write().map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        }
        Ok(names)
    }

    /// Writes the index of the masks written by [`write_masks_png`]: CSV `task,mask` (the file
    /// name, relative to the masks' directory), or with `json` one object with `method`,
    /// `params`, `segmentations` (by task: the file name), `n_iter_run`, `loss_history`
    /// (crowd-kit's: the last task's) and `stop_reason`.
    ///
    /// # Errors
    /// Whatever writing to `out` returns.
    pub fn write_segmentation_index<W: Write>(
        out: W,
        data: &SegmentationResponses,
        fit: &SegmentationAggregation,
        files: &[String],
        json: Option<(&str, &ParamReport)>,
    ) -> io::Result<()> {
        super::check_every_task(data.n_tasks(), fit.masks.len())?;
        super::check_every_task(data.n_tasks(), files.len())?;
        let tasks = || (0..data.n_tasks()).map(|t| data.task_name(t)).zip(files);
        match json {
            None => {
                let mut out = csv::Writer::from_writer(out);
                out.write_record(["task", "mask"]).map_err(io_error)?;
                for (task, file) in tasks() {
                    out.write_record([task, file]).map_err(io_error)?;
                }
                out.flush()
            }
            Some((method, params)) => write_report(out, method, params, &fit.report, |map| {
                map.serialize_entry("segmentations", &MapOf(tasks))
            }),
        }
    }
}
