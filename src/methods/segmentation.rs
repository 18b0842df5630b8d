//! Aggregation of binary segmentation masks into one mask per task:
//! [`SegmentationMajorityVote`], [`SegmentationRasa`] and [`SegmentationEm`], on
//! [`SegmentationResponses`]. Parameters are serde structs validated by `check()`; results
//! are [`SegmentationAggregation`]s.

use serde::{Deserialize, Serialize};

use crate::aggregation::{FitReport, Observer, Skills, StopReason, fit_task_blocks};
use crate::error::{DataError, ParamsError, Result};
use crate::methods::mask_patterns::{PatternCounts, paint};
use crate::numeric::sum::numpy_sum;
use crate::segmentation::{Mask, SegmentationResponses};

/// What a segmentation method returns.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentationAggregation {
    /// The aggregated mask of each task, by task id (crowd-kit's `segmentations_`).
    pub masks: Vec<Mask>,
    /// Iterations and loss history of the last task fitted (as crowd-kit's `loss_history_`);
    /// not iterative for majority vote; [`StopReason::Interrupted`] when an observer stopped
    /// the fit.
    pub report: FitReport,
}

/// A segmentation method with validated parameters.
pub trait SegmentationAggregator: Send + Sync {
    /// crowd-kit's class name.
    fn name(&self) -> &'static str;

    /// Aggregates the masks of every task, calling `observer` after each block of tasks
    /// (tasks are fitted independently, each with its own iterations): an
    /// [`Action::Stop`](crate::Action) ends the fit after that block with
    /// [`StopReason::Interrupted`], and `masks` then holds the tasks fitted, task ids
    /// `0..masks.len()`.
    ///
    /// # Errors
    /// [`DataError`]s about the data or the skills.
    fn fit_observed(
        &self,
        data: &SegmentationResponses,
        observer: Option<&dyn Observer>,
    ) -> Result<SegmentationAggregation>;

    /// Aggregates the masks of every task.
    ///
    /// # Errors
    /// As [`SegmentationAggregator::fit_observed`].
    fn fit(&self, data: &SegmentationResponses) -> Result<SegmentationAggregation> {
        self.fit_observed(data, None)
    }
}

fn check_tol(tol: f64) -> Result<(), ParamsError> {
    if !(tol >= 0.0 && tol.is_finite()) {
        return Err(ParamsError::OutOfRange {
            name: "tol",
            rule: "a finite number >= 0",
            value: tol.to_string(),
        });
    }
    Ok(())
}

/// Declares the parameters of a segmentation method iterated per task (`n_iter` and `tol`, with
/// crowd-kit's defaults 10 and 1e-5), their validation, the method, its `params()`, and its
/// [`SegmentationAggregator`] impl (named `$name`, fitting every task by its `fit_task`).
macro_rules! segmentation_params {
    (
        $(#[$params_meta:meta])*
        $params:ident {
            $(#[$n_iter_meta:meta])* n_iter,
            $(#[$tol_meta:meta])* tol,
        }
        $(#[$method_meta:meta])*
        $method:ident = $name:literal
    ) => {
        $(#[$params_meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $params {
            $(#[$n_iter_meta])*
            pub n_iter: usize,
            $(#[$tol_meta])*
            pub tol: f64,
        }

        impl Default for $params {
            fn default() -> Self {
                Self {
                    n_iter: 10,
                    tol: 1e-5,
                }
            }
        }

        impl $params {
            /// Validates the parameters.
            ///
            /// # Errors
            /// [`ParamsError::OutOfRange`] for a negative or non-finite `tol`.
            pub fn check(self) -> Result<$method, ParamsError> {
                check_tol(self.tol)?;
                Ok($method { params: self })
            }
        }

        $(#[$method_meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Default)]
        pub struct $method {
            params: $params,
        }

        impl $method {
            #[doc = concat!(
                "Default parameters, to adjust and [`check`](", stringify!($params), "::check)."
            )]
            pub fn params() -> $params {
                $params::default()
            }
        }

        impl SegmentationAggregator for $method {
            fn name(&self) -> &'static str {
                $name
            }

            /// Fits each task (in parallel): `fit_task` with the pattern path.
            fn fit_observed(
                &self,
                data: &SegmentationResponses,
                observer: Option<&dyn Observer>,
            ) -> Result<SegmentationAggregation> {
                let (fits, interrupted) = fit_task_blocks(data.n_tasks(), observer, true, |t| {
                    self.fit_task(data, data.task_rows(t), true)
                });
                Ok(collect_fits(fits, interrupted))
            }
        }
    };
}

/// The packed masks of a task's rows.
fn task_words<'a>(data: &'a SegmentationResponses, rows: &[u32]) -> Vec<&'a [u64]> {
    rows.iter()
        .map(|&r| data.mask(r as usize).words())
        .collect()
}

/// The masks of a task's rows unpacked, for the pixel-by-pixel paths (more than 64 masks).
fn task_bools(data: &SegmentationResponses, rows: &[u32]) -> Vec<Vec<bool>> {
    rows.iter()
        .map(|&r| data.mask(r as usize).to_bools())
        .collect()
}

fn mask_like(first: &Mask, pixels: Vec<bool>) -> Mask {
    Mask::from_bools(first.width(), first.height(), pixels).expect("same pixel count")
}

/// The distinct vote patterns of a task's pixels (bit k: the task's k-th mask marks the
/// pixel), for at most 64 masks. Every per-pixel quantity of RASA and EM is a function of the
/// pattern, so they are computed once per pattern (the same operations in the same order as per
/// pixel, hence the same values) and spread to the pixels only where numpy sums over pixels.
struct Patterns {
    /// The bits of each distinct pattern.
    bits: Vec<u64>,
    /// How many pixels have each pattern.
    count: Vec<u64>,
    /// The pattern id of each pixel.
    of_pixel: Vec<u32>,
    /// The leaves of numpy's pairwise summation over the pixels, in order: (first pixel,
    /// length, the pattern of all its pixels or [`MIXED`]).
    leaves: Vec<(u32, u32, u32)>,
}

/// A leaf of the pairwise sum whose pixels have several patterns.
const MIXED: u32 = u32::MAX;

/// numpy's pairwise split of `n` values from `start`: halves at multiples of 8 down to blocks
/// of at most 128 (see [`numpy_sum`]).
fn pairwise_leaves(start: usize, n: usize, out: &mut Vec<(usize, usize)>) {
    if n <= 128 {
        out.push((start, n));
    } else {
        let mut half = n / 2;
        half -= half % 8;
        pairwise_leaves(start, half, out);
        pairwise_leaves(start + half, n - half, out);
    }
}

/// The sums of [`pairwise_leaves`]' leaves (in order) combined as numpy combines them.
fn pairwise_combine(n: usize, leaf_sums: &mut impl Iterator<Item = f64>) -> f64 {
    if n <= 128 {
        leaf_sums.next().unwrap_or(0.0)
    } else {
        let mut half = n / 2;
        half -= half % 8;
        let left = pairwise_combine(half, leaf_sums);
        left + pairwise_combine(n - half, leaf_sums)
    }
}

impl Patterns {
    #[cfg(test)]
    fn of(segs: &[&[bool]]) -> Option<Self> {
        if segs.len() > 64 {
            return None;
        }
        let mut code = vec![0u64; segs[0].len()];
        for (k, seg) in segs.iter().enumerate() {
            for (c, &p) in code.iter_mut().zip(*seg) {
                *c |= u64::from(p) << k;
            }
        }
        Some(Self::of_codes(&code, segs.len()))
    }

    /// The patterns of at most 64 packed masks of `pixels` pixels ([`Mask::words`]).
    fn of_packed(masks: &[&[u64]], pixels: usize) -> Self {
        debug_assert!(masks.len() <= 64);
        let mut code = vec![0u64; pixels];
        // Set bits only: background words cost one test.
        for (k, mask) in masks.iter().enumerate() {
            for (w, &word) in mask.iter().enumerate() {
                let mut rest = word;
                while rest != 0 {
                    code[w * 64 + rest.trailing_zeros() as usize] |= 1u64 << k;
                    rest &= rest - 1;
                }
            }
        }
        Self::of_codes(&code, masks.len())
    }

    /// The patterns of pixels whose vote patterns of `n` masks are `code`.
    fn of_codes(code: &[u64], n: usize) -> Self {
        let (mut bits, mut count) = (Vec::new(), Vec::new());
        // Ids in order of first appearance either way; up to 16 masks a dense table (code →
        // id + 1, 0 = unseen) replaces the hash map, which dominated the per-pixel cost.
        let of_pixel: Vec<u32> = if n <= 16 {
            let mut table = vec![0u32; 1 << n];
            code.iter()
                .map(|&c| {
                    let slot = &mut table[c as usize];
                    if *slot == 0 {
                        bits.push(c);
                        count.push(0);
                        *slot = bits.len() as u32;
                    }
                    let id = *slot - 1;
                    count[id as usize] += 1;
                    id
                })
                .collect()
        } else {
            let mut ids = rustc_hash::FxHashMap::default();
            code.iter()
                .map(|&c| {
                    let id = *ids.entry(c).or_insert_with(|| {
                        bits.push(c);
                        count.push(0);
                        bits.len() as u32 - 1
                    });
                    count[id as usize] += 1;
                    id
                })
                .collect()
        };
        let mut spans = Vec::new();
        pairwise_leaves(0, of_pixel.len(), &mut spans);
        let leaves = spans
            .into_iter()
            .map(|(start, len)| {
                let ids: &[u32] = &of_pixel[start..start + len];
                let uniform = match ids.first() {
                    Some(&id) if ids.iter().all(|&i| i == id) => id,
                    _ => MIXED,
                };
                (start as u32, len as u32, uniform)
            })
            .collect();
        Self {
            bits,
            count,
            of_pixel,
            leaves,
        }
    }

    fn has(&self, id: usize, k: usize) -> bool {
        (self.bits[id] >> k) & 1 == 1
    }

    /// A per-pattern value spread to the pixels.
    #[cfg(test)]
    fn spread(&self, values: &[f64]) -> Vec<f64> {
        self.of_pixel
            .iter()
            .map(|&id| values[id as usize])
            .collect()
    }

    /// `numpy_sum` of the per-pattern `values` spread to the pixels, bit for bit (see
    /// [`Patterns::pixel_sums`]).
    #[cfg(test)]
    fn pixel_sum(&self, values: &[f64]) -> f64 {
        self.pixel_sums(values, 1)[0]
    }

    /// For each of `k` per-pattern value columns (`values[id * k + c]`: pattern `id`, column
    /// `c`), `numpy_sum` of the column spread to the pixels, bit for bit, without spreading:
    /// the leaves of numpy's pairwise sum are summed for all columns in one pass over their
    /// pixels (a leaf whose pixels share one pattern once per pattern and length), then
    /// combined as numpy combines them.
    fn pixel_sums(&self, values: &[f64], k: usize) -> Vec<f64> {
        let mut lanes = vec![0.0f64; 8 * k];
        let mut uniform: rustc_hash::FxHashMap<(u32, u32), Vec<f64>> = Default::default();
        let mut sums = vec![0.0; self.leaves.len() * k];
        let mut uniform_ids = [0u32; 128];
        // Patterns whose values are all +0.0: adding them leaves an accumulator unchanged
        // unless it is −0.0, which only −0.0 values can make; so they are skipped only when no
        // value is −0.0 (background pixels, with posterior 0, are most of a mask).
        let no_negative_zero = values.iter().all(|v| v.to_bits() != (-0.0f64).to_bits());
        let zero: Vec<bool> = values
            .chunks_exact(k.max(1))
            .map(|row| no_negative_zero && row.iter().all(|v| v.to_bits() == 0))
            .collect();
        for (leaf, &(start, len, id)) in self.leaves.iter().enumerate() {
            let out = &mut sums[leaf * k..(leaf + 1) * k];
            if id == MIXED {
                let ids = &self.of_pixel[start as usize..(start + len) as usize];
                leaf_sums(ids, values, k, &zero, &mut lanes, out);
            } else {
                let cached = uniform.entry((id, len)).or_insert_with(|| {
                    let ids = &mut uniform_ids[..len as usize];
                    ids.fill(id);
                    let mut sum = vec![0.0; k];
                    leaf_sums(ids, values, k, &zero, &mut lanes, &mut sum);
                    sum
                });
                out.copy_from_slice(cached);
            }
        }
        (0..k)
            .map(|c| {
                let mut column = (0..self.leaves.len()).map(|leaf| sums[leaf * k + c]);
                pairwise_combine(self.of_pixel.len(), &mut column)
            })
            .collect()
    }
}

/// [`numpy_sum`] of one leaf (at most 128 pixels) for `k` value columns at once: eight
/// accumulators per column over groups of eight pixels, combined as numpy does, then the rest
/// added in order; below eight pixels a plain sum from 0. Groups of eight pixels whose
/// patterns are all `zero` (values +0.0, see [`Patterns::pixel_sums`]) are skipped.
fn leaf_sums(
    ids: &[u32],
    values: &[f64],
    k: usize,
    zero: &[bool],
    lanes: &mut [f64],
    out: &mut [f64],
) {
    let n = ids.len();
    let row = |id: u32| &values[id as usize * k..(id as usize + 1) * k];
    if n < 8 {
        out.fill(0.0);
        for &id in ids {
            for (o, &v) in out.iter_mut().zip(row(id)) {
                *o += v;
            }
        }
        return;
    }
    for (j, &id) in ids[..8].iter().enumerate() {
        lanes[j * k..(j + 1) * k].copy_from_slice(row(id));
    }
    let mut i = 8;
    while i < n - n % 8 {
        let group = &ids[i..i + 8];
        if group.iter().all(|&id| zero[id as usize]) {
            i += 8;
            continue;
        }
        for (j, &id) in group.iter().enumerate() {
            for (acc, &v) in lanes[j * k..(j + 1) * k].iter_mut().zip(row(id)) {
                *acc += v;
            }
        }
        i += 8;
    }
    for (c, o) in out.iter_mut().enumerate() {
        let r = |j: usize| lanes[j * k + c];
        let mut res = ((r(0) + r(1)) + (r(2) + r(3))) + ((r(4) + r(5)) + (r(6) + r(7)));
        for &id in &ids[i..] {
            res += values[id as usize * k + c];
        }
        *o = res;
    }
}

// ---- majority vote ----

/// [`SegmentationMajorityVote`]'s parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentationMajorityVoteParams {
    /// The skill of a worker missing from the given skills; `None` (default) makes a missing
    /// skill an error (crowd-kit's `on_missing_skill="error"`).
    pub default_skill: Option<f64>,
}

impl SegmentationMajorityVoteParams {
    /// Validates the parameters.
    ///
    /// # Errors
    /// [`ParamsError::OutOfRange`] for a NaN or infinite `default_skill`.
    pub fn check(self) -> Result<SegmentationMajorityVote, ParamsError> {
        if let Some(s) = self.default_skill
            && !s.is_finite()
        {
            return Err(ParamsError::OutOfRange {
                name: "default_skill",
                rule: "a finite number",
                value: s.to_string(),
            });
        }
        Ok(SegmentationMajorityVote { params: self })
    }
}

/// **Segmentation majority vote** (crowd-kit `SegmentationMajorityVote`): D. J.-L. Lee,
/// A. Das Sarma & A. Parameswaran, "Aggregating Crowdsourced Image Segmentations", CEUR
/// Workshop Proceedings 2173, 2018 ([paper](https://ceur-ws.org/Vol-2173/paper10.pdf)).
///
/// A pixel is in the aggregate iff 2 Σ_k s_k S_k − Σ_k s_k ≥ 0, with skills s_k = 1 unless
/// given ([`SegmentationMajorityVote::fit_with_skills`]): a tie includes the pixel.
///
/// ```
/// use crowdagg::{Mask, SegmentationAggregator, SegmentationMajorityVote, SegmentationResponses};
///
/// let m = |p: [bool; 2]| Mask::from_bools(2, 1, p.to_vec()).unwrap();
/// let data = SegmentationResponses::from_rows([
///     ("img", "w1", m([true, true])),
///     ("img", "w2", m([true, false])),
///     ("img", "w3", m([false, false])),
/// ])?;
/// let fit = SegmentationMajorityVote::default().fit(&data)?;
/// assert_eq!(fit.masks[0].to_bools(), [true, false]);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SegmentationMajorityVote {
    params: SegmentationMajorityVoteParams,
}

impl SegmentationMajorityVote {
    /// Default parameters, to adjust and [`check`](SegmentationMajorityVoteParams::check).
    pub fn params() -> SegmentationMajorityVoteParams {
        SegmentationMajorityVoteParams::default()
    }

    /// Weighted majority vote with per-worker skills.
    ///
    /// # Errors
    /// [`DataError::MissingSkill`] for a worker without a skill (and no `default_skill`),
    /// [`DataError::InvalidSkill`] for a NaN or infinite skill.
    pub fn fit_with_skills(
        &self,
        data: &SegmentationResponses,
        skills: Option<&Skills>,
    ) -> Result<SegmentationAggregation> {
        self.fit_with_skills_observed(data, skills, None)
    }

    /// [`SegmentationMajorityVote::fit_with_skills`] with an observer, as
    /// [`SegmentationAggregator::fit_observed`].
    ///
    /// # Errors
    /// As [`SegmentationMajorityVote::fit_with_skills`].
    pub fn fit_with_skills_observed(
        &self,
        data: &SegmentationResponses,
        skills: Option<&Skills>,
        observer: Option<&dyn Observer>,
    ) -> Result<SegmentationAggregation> {
        let mut weight = vec![1.0; data.n_workers()];
        if let Some(skills) = skills {
            for (w, slot) in weight.iter_mut().enumerate() {
                let name = data.worker_name(w);
                let value = match (skills.get(name), self.params.default_skill) {
                    (Some(v), _) | (None, Some(v)) => v,
                    (None, None) => {
                        return Err(DataError::MissingSkill {
                            worker: name.to_string(),
                        }
                        .into());
                    }
                };
                if !value.is_finite() {
                    return Err(DataError::InvalidSkill {
                        worker: name.to_string(),
                        value,
                    }
                    .into());
                }
                *slot = value;
            }
        }
        let weighted = skills.is_some();
        let (masks, interrupted) = fit_task_blocks(data.n_tasks(), observer, true, |t| {
            let rows = data.task_rows(t);
            let first = data.mask(rows[0] as usize);
            let (n, pixels) = (rows.len(), first.len());
            if n <= 64 {
                let words = task_words(data, rows);
                if !weighted {
                    // Unit skills: integer votes (crowd-kit's `segmentation * 1`), a pixel
                    // is in iff 2 × its votes ≥ n.
                    let out = paint(&words, pixels, |p| 2 * p.count_ones() as usize >= n);
                    return first.with_words(out);
                }
                // A pattern's score: the per-pixel sum, the same additions in the same order.
                let counts = PatternCounts::of(&words, pixels);
                let accept: Vec<bool> = counts
                    .bits
                    .iter()
                    .map(|&bits| {
                        let (mut score, mut total) = (0.0, 0.0);
                        for (k, &row) in rows.iter().enumerate() {
                            let s = weight[data.worker(row as usize)];
                            total += s;
                            score += s * f64::from(u8::from((bits >> k) & 1 == 1));
                        }
                        2.0 * score - total >= 0.0
                    })
                    .collect();
                return first.with_words(paint(&words, pixels, |p| counts.accepts(&accept, p)));
            }
            // More than 64 masks: pixel by pixel.
            let segs = task_bools(data, rows);
            if !weighted {
                let mut votes = vec![0u32; pixels];
                for seg in &segs {
                    for (acc, &p) in votes.iter_mut().zip(seg) {
                        *acc += u32::from(p);
                    }
                }
                let n = n as u64;
                return mask_like(
                    first,
                    votes.iter().map(|&v| 2 * u64::from(v) >= n).collect(),
                );
            }
            let mut score = vec![0.0; pixels];
            let mut total = 0.0;
            for (seg, &row) in segs.iter().zip(rows) {
                let s = weight[data.worker(row as usize)];
                total += s;
                for (acc, &p) in score.iter_mut().zip(seg) {
                    *acc += s * f64::from(u8::from(p));
                }
            }
            mask_like(
                first,
                score.iter().map(|&v| 2.0 * v - total >= 0.0).collect(),
            )
        });
        let mut report = FitReport::not_iterative();
        if interrupted {
            report.stop_reason = StopReason::Interrupted;
        }
        Ok(SegmentationAggregation { masks, report })
    }
}

impl SegmentationAggregator for SegmentationMajorityVote {
    fn name(&self) -> &'static str {
        "SegmentationMajorityVote"
    }

    fn fit_observed(
        &self,
        data: &SegmentationResponses,
        observer: Option<&dyn Observer>,
    ) -> Result<SegmentationAggregation> {
        self.fit_with_skills_observed(data, None, observer)
    }
}

// ---- RASA ----

segmentation_params! {
    /// [`SegmentationRasa`]'s parameters (defaults: crowd-kit's).
    SegmentationRasaParams {
        /// Maximum number of iterations per task (default 10).
        n_iter,
        /// Stop when ‖weighted − previous‖²/‖weighted‖² falls below this (default 1e-5).
        tol,
    }
    /// **Segmentation RASA** (crowd-kit `SegmentationRASA`), RASA (J. Li & F. Fukumoto, AnnoNLP
    /// 2019, [doi:10.18653/v1/D19-5904](https://doi.org/10.18653/v1/D19-5904)) adapted to masks.
    ///
    /// Per task, with weights w_k = 1/n to start: (1) W = Σ_k w_k S_k, the aggregate is W ≥ 0.5;
    /// (2) d_k = 1 − |S_k ∩ A| / |S_k ∪ A| and w_k ∝ ln(1/(d_k + 10⁻⁵) + 1), normalised;
    /// (3) from the second iteration stop when ‖W − W_prev‖²/‖W‖² < `tol`. The last aggregate is
    /// returned. With `n_iter = 0` crowd-kit returns the unthresholded mean W (floats); this
    /// returns W ≥ 0.5.
    ///
    /// With at most 64 masks per task everything is computed once per vote pattern (which masks
    /// mark a pixel) rather than per pixel; the stopping loss is then summed by pattern, equal to
    /// crowd-kit's pixel-wise sum up to rounding. Masks equal crowd-kit's on its tests and on 60
    /// generated images.
    SegmentationRasa = "SegmentationRASA"
}

impl SegmentationRasa {
    /// One task: the aggregate and the fit report.
    fn fit_task(
        &self,
        data: &SegmentationResponses,
        rows: &[u32],
        by_pattern: bool,
    ) -> (Mask, FitReport) {
        let first = data.mask(rows[0] as usize);
        if by_pattern && rows.len() <= 64 {
            let words = task_words(data, rows);
            let counts = PatternCounts::of(&words, first.len());
            let (accept, report) = self.fit_patterns(rows.len(), &counts);
            let out = paint(&words, first.len(), |p| counts.accepts(&accept, p));
            return (first.with_words(out), report);
        }
        let unpacked = task_bools(data, rows);
        let segs: Vec<&[bool]> = unpacked.iter().map(Vec::as_slice).collect();
        let n = segs.len();
        let pixels = segs[0].len();
        // The masks as 0/1 doubles, worker-major (crowd-kit multiplies the bool arrays).
        let values: Vec<f64> = segs
            .iter()
            .flat_map(|s| s.iter().map(|&p| f64::from(u8::from(p))))
            .collect();
        let weighted_sum = |weights: &[f64]| {
            let mut out = vec![0.0; pixels];
            for (k, &w) in weights.iter().enumerate() {
                for (acc, &v) in out.iter_mut().zip(&values[k * pixels..(k + 1) * pixels]) {
                    *acc += w * v;
                }
            }
            out
        };
        let (mv, report) = self.iterate(
            n,
            weighted_sum,
            |mv| {
                segs.iter()
                    .map(|seg| {
                        let (mut inter, mut union) = (0usize, 0usize);
                        for (&s, &m) in seg.iter().zip(mv) {
                            inter += usize::from(s & m);
                            union += usize::from(s | m);
                        }
                        rasa_weight(inter as f64, union as f64)
                    })
                    .collect()
            },
            |weighted, previous| {
                let delta: Vec<f64> = weighted
                    .iter()
                    .zip(previous)
                    .map(|(a, b)| (a - b) * (a - b))
                    .collect();
                let squares: Vec<f64> = weighted.iter().map(|a| a * a).collect();
                numpy_sum(&delta) / numpy_sum(&squares)
            },
        );
        (mask_like(first, mv), report)
    }

    /// [`SegmentationRasa::fit_task`] by vote pattern: whether each pattern is in the
    /// aggregate, and the report.
    fn fit_patterns(&self, n: usize, pat: &PatternCounts) -> (Vec<bool>, FitReport) {
        let m = pat.bits.len();
        let weighted_sum = |weights: &[f64]| -> Vec<f64> {
            (0..m)
                .map(|id| {
                    let mut acc = 0.0;
                    for (k, &w) in weights.iter().enumerate() {
                        acc += w * f64::from(u8::from(pat.has(id, k)));
                    }
                    acc
                })
                .collect()
        };
        self.iterate(
            n,
            weighted_sum,
            |mv| {
                (0..n)
                    .map(|k| {
                        let (mut inter, mut union) = (0u64, 0u64);
                        for (id, &v) in mv.iter().enumerate() {
                            let s = pat.has(id, k);
                            inter += pat.count[id] * u64::from(s & v);
                            union += pat.count[id] * u64::from(s | v);
                        }
                        rasa_weight(inter as f64, union as f64)
                    })
                    .collect()
            },
            |weighted, previous| {
                // Σ over pixels as Σ over patterns × pixel counts: crowd-kit's loss up to
                // rounding (it only decides when to stop).
                let (mut delta, mut squares) = (0.0, 0.0);
                for ((&a, &b), &c) in weighted.iter().zip(previous).zip(&pat.count) {
                    delta += c as f64 * ((a - b) * (a - b));
                    squares += c as f64 * (a * a);
                }
                delta / squares
            },
        )
    }

    /// The RASA loop of one task, by pixel or by vote pattern: `weighted_sum(weights)` is W
    /// (per pixel or per pattern), `raw_weights(aggregate)` the unnormalised weight of each
    /// mask, `loss(W, W_prev)` the stopping loss. The aggregate (W ≥ 0.5) and the report.
    fn iterate(
        &self,
        n: usize,
        weighted_sum: impl Fn(&[f64]) -> Vec<f64>,
        raw_weights: impl Fn(&[bool]) -> Vec<f64>,
        loss: impl Fn(&[f64], &[f64]) -> f64,
    ) -> (Vec<bool>, FitReport) {
        let mut weights = vec![1.0 / n as f64; n];
        let mut mv: Vec<bool> = weighted_sum(&weights).iter().map(|&v| v >= 0.5).collect();
        let mut last: Option<Vec<f64>> = None;
        let mut report = FitReport::new(0, StopReason::MaxIterations, Vec::new());
        for _ in 0..self.params.n_iter {
            let weighted = weighted_sum(&weights);
            mv = weighted.iter().map(|&v| v >= 0.5).collect();
            weights = normalised(&raw_weights(&mv));
            report.iterations += 1;
            if let Some(previous) = &last {
                let loss = loss(&weighted, previous);
                report.loss_history.push(loss);
                if loss < self.params.tol {
                    report.stop_reason = StopReason::Converged;
                    break;
                }
            }
            last = Some(weighted);
        }
        (mv, report)
    }
}

/// RASA's unnormalised weight of a mask from its intersection and union with the aggregate:
/// ln(1/(d + 10⁻⁵) + 1) with the Jaccard distance d = 1 − |S ∩ A| / |S ∪ A|.
fn rasa_weight(inter: f64, union: f64) -> f64 {
    let distance = 1.0 - inter / union;
    (1.0 / (distance + 1e-5) + 1.0).ln()
}

/// `raw` divided by its (numpy pairwise) sum.
fn normalised(raw: &[f64]) -> Vec<f64> {
    let total = numpy_sum(raw);
    raw.iter().map(|w| w / total).collect()
}

/// Masks by task and the last task's report (crowd-kit's `loss_history_`).
fn collect_fits(fits: Vec<(Mask, FitReport)>, interrupted: bool) -> SegmentationAggregation {
    let mut report = FitReport::new(0, StopReason::MaxIterations, Vec::new());
    let masks = fits
        .into_iter()
        .map(|(mask, r)| {
            report = r;
            mask
        })
        .collect();
    if interrupted {
        report.stop_reason = StopReason::Interrupted;
    }
    SegmentationAggregation { masks, report }
}

// ---- EM ----

segmentation_params! {
    /// [`SegmentationEm`]'s parameters (defaults: crowd-kit's).
    SegmentationEmParams {
        /// Maximum number of EM iterations per task (default 10).
        n_iter,
        /// Stop when the normalised ELBO improves by less than this (default 1e-5).
        tol,
    }
    /// **Segmentation EM** (crowd-kit `SegmentationEM`): a one-coin Dawid–Skene model per pixel
    /// (D. J.-L. Lee, A. Das Sarma & A. Parameswaran, CEUR-WS 2173, 2018,
    /// [paper](https://ceur-ws.org/Vol-2173/paper10.pdf)), as crowd-kit codes it.
    ///
    /// Per task: prior π = mean of the masks; region R = |∪_k S_k| (an empty union gives an empty
    /// mask); skills q_k = 1 − (|S_k| + Σ P − 2 Σ S_k P)/R with P = round(π) (half to even, so
    /// 0.5 → 0). Each iteration: posterior P = e^pos/(e^pos + e^neg) with pos = ln π + Σ_k ln a_k,
    /// neg = ln(1 − π) + Σ_k ln(1 − a_k), a_k = q_k where S_k else 1 − q_k (NaN → 0, values below
    /// 10⁻¹⁵ → 0); the skills from P by the formula above; the ELBO over (n · pixels); then π ← P
    /// (crowd-kit replaces the prior by the posterior); stop when the ELBO improves by less than
    /// `tol`. The aggregate is π > 0.5.
    ///
    /// With at most 64 masks per task, every per-pixel quantity is computed once per vote pattern
    /// (the same operations in the same order, so the same values); the skill sums over pixels are
    /// numpy's pairwise sums as in crowd-kit, the ELBO (which only decides when to stop) is summed
    /// by pattern, equal to crowd-kit's up to rounding. Masks equal crowd-kit's on its tests and on
    /// 60 generated images.
    SegmentationEm = "SegmentationEM"
}

/// np.nan_to_num(x, nan=0): NaN → 0, ±∞ → ±f64::MAX.
fn nan_to_num(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else if x == f64::INFINITY {
        f64::MAX
    } else if x == f64::NEG_INFINITY {
        f64::MIN
    } else {
        x
    }
}

/// ln a and ln(1 − a) of each worker, for a pixel it marked (`[1]`) or not (`[0]`), where
/// a = q (marked) or 1 − q: the values numpy computes pixel by pixel.
fn worker_logs(skills: &[f64]) -> Vec<[[f64; 2]; 2]> {
    skills
        .iter()
        .map(|&q| {
            let (on, off) = (q, 1.0 - q);
            [[off.ln(), (1.0 - off).ln()], [on.ln(), (1.0 - on).ln()]]
        })
        .collect()
}

/// Counts an EM iteration and records its normalised ELBO; true (and the report says
/// converged) when it improved on `previous` by less than `tol` (a decrease stops too).
fn record_elbo(report: &mut FitReport, elbo: f64, previous: f64, tol: f64) -> bool {
    report.iterations += 1;
    report.loss_history.push(elbo);
    let converged = elbo - previous < tol;
    if converged {
        report.stop_reason = StopReason::Converged;
    }
    converged
}

fn em_skills(segs: &[&[bool]], post: &[f64], region: f64, sizes: &[f64]) -> Vec<f64> {
    let post_sum = numpy_sum(post);
    segs.iter()
        .zip(sizes)
        .map(|(seg, &size)| {
            let products: Vec<f64> = seg
                .iter()
                .zip(post)
                .map(|(&s, &p)| if s { p } else { 0.0 })
                .collect();
            1.0 - (size + post_sum - 2.0 * numpy_sum(&products)) / region
        })
        .collect()
}

impl SegmentationEm {
    /// One task: the aggregate and the fit report.
    fn fit_task(
        &self,
        data: &SegmentationResponses,
        rows: &[u32],
        by_pattern: bool,
    ) -> (Mask, FitReport) {
        let mut report = FitReport::new(0, StopReason::MaxIterations, Vec::new());
        let first = data.mask(rows[0] as usize);
        if by_pattern && rows.len() <= 64 {
            let words = task_words(data, rows);
            let patterns = Patterns::of_packed(&words, first.len());
            return self.fit_patterns(first, rows.len(), &patterns);
        }
        let unpacked = task_bools(data, rows);
        let segs: Vec<&[bool]> = unpacked.iter().map(Vec::as_slice).collect();
        let n = segs.len();
        let pixels = segs[0].len();
        let mut prior: Vec<f64> = (0..pixels)
            .map(|p| segs.iter().filter(|s| s[p]).count() as f64 / n as f64)
            .collect();
        let region = (0..pixels).filter(|&p| segs.iter().any(|s| s[p])).count();
        if region == 0 {
            return (Mask::new(first.width(), first.height()), report);
        }
        let region = region as f64;
        let sizes: Vec<f64> = segs
            .iter()
            .map(|s| s.iter().filter(|&&p| p).count() as f64)
            .collect();
        let rounded: Vec<f64> = prior.iter().map(|p| p.round_ties_even()).collect();
        let mut skills = em_skills(&segs, &rounded, region, &sizes);
        let mut loss = f64::NEG_INFINITY;
        for _ in 0..self.params.n_iter {
            // E-step, summing over workers in order for each pixel.
            let log_a = worker_logs(&skills);
            let mut pos_sum = vec![0.0; pixels];
            let mut neg_sum = vec![0.0; pixels];
            for (seg, l) in segs.iter().zip(&log_a) {
                for p in 0..pixels {
                    let [ln_a, ln_not_a] = l[usize::from(seg[p])];
                    pos_sum[p] += ln_a;
                    neg_sum[p] += ln_not_a;
                }
            }
            let post: Vec<f64> = (0..pixels)
                .map(|p| {
                    let pos = (prior[p].ln() + pos_sum[p]).exp();
                    let neg = ((1.0 - prior[p]).ln() + neg_sum[p]).exp();
                    let v = pos / (pos + neg);
                    let v = if v.is_nan() { 0.0 } else { nan_to_num(v) };
                    if v < 1e-15 { 0.0 } else { v }
                })
                .collect();
            skills = em_skills(&segs, &post, region, &sizes);
            // ELBO, as crowd-kit: arrays summed whole (pairwise), worker-major.
            let log_a = worker_logs(&skills);
            let ln_prior: Vec<f64> = prior.iter().map(|p| p.ln()).collect();
            let ln_not_prior: Vec<f64> = prior.iter().map(|p| (1.0 - p).ln()).collect();
            let mut first_terms = Vec::with_capacity(n * pixels);
            let mut second_terms = Vec::with_capacity(n * pixels);
            for (seg, l) in segs.iter().zip(&log_a) {
                for p in 0..pixels {
                    let [ln_a, ln_not_a] = l[usize::from(seg[p])];
                    first_terms.push(nan_to_num((ln_a + ln_prior[p]) * post[p]));
                    second_terms.push(nan_to_num((ln_not_a + ln_not_prior[p]) * (1.0 - post[p])));
                }
            }
            let entropy: Vec<f64> = post.iter().map(|&p| nan_to_num(p.ln() * p)).collect();
            let elbo = numpy_sum(&first_terms) + numpy_sum(&second_terms) - numpy_sum(&entropy);
            let new_loss = elbo / (n * pixels) as f64;
            prior = post;
            if record_elbo(&mut report, new_loss, loss, self.params.tol) {
                break;
            }
            loss = new_loss;
        }
        (
            mask_like(first, prior.iter().map(|&p| p > 0.5).collect()),
            report,
        )
    }

    /// [`SegmentationEm::fit_task`] by vote pattern.
    fn fit_patterns(&self, first: &Mask, n: usize, pat: &Patterns) -> (Mask, FitReport) {
        let mut report = FitReport::new(0, StopReason::MaxIterations, Vec::new());
        let m = pat.bits.len();
        let pixels = pat.of_pixel.len();
        let mut prior: Vec<f64> = pat
            .bits
            .iter()
            .map(|b| f64::from(b.count_ones()) / n as f64)
            .collect();
        let region: u64 = (0..m)
            .filter(|&id| pat.bits[id] != 0)
            .map(|id| pat.count[id])
            .sum();
        if region == 0 {
            return (Mask::new(first.width(), first.height()), report);
        }
        let region = region as f64;
        let sizes: Vec<f64> = (0..n)
            .map(|k| {
                (0..m)
                    .filter(|&id| pat.has(id, k))
                    .map(|id| pat.count[id])
                    .sum::<u64>() as f64
            })
            .collect();
        // The skill formula with the pixel sums as numpy does them (pairwise over pixels).
        let skills_from = |post: &[f64]| -> Vec<f64> {
            // Columns: the posterior, then for each worker the posterior where it marked.
            let columns = n + 1;
            let mut values = vec![0.0; m * columns];
            for (id, row) in values.chunks_exact_mut(columns).enumerate() {
                row[0] = post[id];
                for (k, v) in row[1..].iter_mut().enumerate() {
                    *v = if pat.has(id, k) { post[id] } else { 0.0 };
                }
            }
            let sums = pat.pixel_sums(&values, columns);
            let post_sum = sums[0];
            (0..n)
                .map(|k| 1.0 - (sizes[k] + post_sum - 2.0 * sums[1 + k]) / region)
                .collect()
        };
        let rounded: Vec<f64> = prior.iter().map(|p| p.round_ties_even()).collect();
        let mut skills = skills_from(&rounded);
        let mut loss = f64::NEG_INFINITY;
        for _ in 0..self.params.n_iter {
            let log_a = worker_logs(&skills);
            let post: Vec<f64> = (0..m)
                .map(|id| {
                    let (mut pos_sum, mut neg_sum) = (0.0, 0.0);
                    for (k, l) in log_a.iter().enumerate() {
                        let [ln_a, ln_not_a] = l[usize::from(pat.has(id, k))];
                        pos_sum += ln_a;
                        neg_sum += ln_not_a;
                    }
                    let pos = (prior[id].ln() + pos_sum).exp();
                    let neg = ((1.0 - prior[id]).ln() + neg_sum).exp();
                    let v = pos / (pos + neg);
                    let v = if v.is_nan() { 0.0 } else { nan_to_num(v) };
                    if v < 1e-15 { 0.0 } else { v }
                })
                .collect();
            skills = skills_from(&post);
            // The ELBO, summed by pattern × pixel count: crowd-kit's up to rounding (it only
            // decides when to stop).
            let log_a = worker_logs(&skills);
            let mut elbo = 0.0;
            for id in 0..m {
                let (ln_prior, ln_not_prior) = (prior[id].ln(), (1.0 - prior[id]).ln());
                let mut terms = 0.0;
                for (k, l) in log_a.iter().enumerate() {
                    let [ln_a, ln_not_a] = l[usize::from(pat.has(id, k))];
                    terms += nan_to_num((ln_a + ln_prior) * post[id]);
                    terms += nan_to_num((ln_not_a + ln_not_prior) * (1.0 - post[id]));
                }
                terms -= nan_to_num(post[id].ln() * post[id]);
                elbo += pat.count[id] as f64 * terms;
            }
            let new_loss = elbo / (n * pixels) as f64;
            prior = post;
            if record_elbo(&mut report, new_loss, loss, self.params.tol) {
                break;
            }
            loss = new_loss;
        }
        let pixels = pat
            .of_pixel
            .iter()
            .map(|&id| prior[id as usize] > 0.5)
            .collect();
        (mask_like(first, pixels), report)
    }
}

crate::methods::params::params_by_inherent_check!(
    SegmentationMajorityVoteParams => SegmentationMajorityVote,
    SegmentationRasaParams => SegmentationRasa,
    SegmentationEmParams => SegmentationEm,
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Masks from a xorshift generator: blobs with noise, `n` per task.
    fn random_data(n: usize, tasks: usize, seed: u64) -> SegmentationResponses {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut builder = SegmentationResponses::builder();
        for t in 0..tasks {
            let (cx, cy, r) = (4.0 + 8.0 * next(), 3.0 + 5.0 * next(), 1.0 + 4.0 * next());
            for k in 0..n {
                let noise = 0.3 * next();
                let pixels = (0..16 * 12)
                    .map(|p| {
                        let (x, y) = ((p % 16) as f64, (p / 16) as f64);
                        ((x - cx).powi(2) + (y - cy).powi(2) <= r * r) ^ (next() < noise)
                    })
                    .collect();
                let mask = Mask::from_bools(16, 12, pixels).unwrap();
                builder
                    .push(&format!("t{t}"), &format!("w{k}"), mask)
                    .unwrap();
            }
        }
        builder.build()
    }

    #[test]
    fn pixel_sums_by_leaf_equal_numpy_sums_of_the_spread_values() {
        // Pixel counts below 8, between, at and past 128, not multiples of 8; values of
        // mixed magnitudes so that a change of summation order would show.
        for (n, width) in [(3, 5), (4, 40), (5, 128), (6, 131), (3, 1000), (5, 4099)] {
            let mut state = 0x9e37_79b9_u64 + width as u64;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            // Runs of one pattern with random lengths, as masks have.
            let masks: Vec<Vec<bool>> = (0..n)
                .map(|_| {
                    let mut pixels = Vec::with_capacity(width);
                    while pixels.len() < width {
                        let run = 1 + (next() % 300) as usize;
                        let on = next() % 2 == 0;
                        pixels.extend(std::iter::repeat_n(on, run.min(width - pixels.len())));
                    }
                    pixels
                })
                .collect();
            let segs: Vec<&[bool]> = masks.iter().map(Vec::as_slice).collect();
            let pat = Patterns::of(&segs).unwrap();
            let values: Vec<f64> = (0..pat.bits.len())
                .map(|i| (i as f64 + 0.1).powi(7) * 1e-3 + 1.0 / 3.0)
                .collect();
            assert_eq!(
                pat.pixel_sum(&values).to_bits(),
                numpy_sum(&pat.spread(&values)).to_bits(),
                "{n} masks of {width} pixels"
            );
            // Three columns at once: each as alone.
            let columns: Vec<f64> = values
                .iter()
                .flat_map(|&v| [v, -v * 0.7, if v > 1.0 { v } else { 0.0 }])
                .collect();
            check_columns(&pat, &columns, 3, n, width);
            // Mostly zero rows (skipped), then a −0.0 (which turns the skipping off).
            let mut columns: Vec<f64> = values
                .iter()
                .enumerate()
                .flat_map(|(i, &v)| if i % 3 == 0 { [v, 0.0] } else { [0.0, 0.0] })
                .collect();
            check_columns(&pat, &columns, 2, n, width);
            columns[1] = -0.0;
            check_columns(&pat, &columns, 2, n, width);
        }
    }

    /// `k` columns summed at once equal each column spread and summed alone, bit for bit.
    fn check_columns(pat: &Patterns, columns: &[f64], k: usize, n: usize, width: usize) {
        let sums = pat.pixel_sums(columns, k);
        for (c, sum) in sums.iter().enumerate() {
            let column: Vec<f64> = columns.iter().skip(c).step_by(k).copied().collect();
            assert_eq!(
                sum.to_bits(),
                numpy_sum(&pat.spread(&column)).to_bits(),
                "column {c}, {n} masks of {width} pixels"
            );
        }
    }

    #[test]
    fn majority_vote_equals_a_pixel_by_pixel_vote() {
        // 1 to 6 masks (all patterns at once), 9 (split word by word), 70 (pixel by pixel).
        for n in [1, 4, 6, 9, 70] {
            let data = random_data(n, 3, 11 + n as u64);
            let skills: Skills = (0..n)
                .map(|k| {
                    (
                        format!("w{k}"),
                        0.3 + 0.17 * (k % 5) as f64 - 0.2 * f64::from(k == 2),
                    )
                })
                .collect();
            let mv = SegmentationMajorityVote::default();
            for skills in [None, Some(&skills)] {
                let fit = mv.fit_with_skills(&data, skills).unwrap();
                for t in 0..data.n_tasks() {
                    let rows = data.task_rows(t);
                    let masks = task_bools(&data, rows);
                    let expect: Vec<bool> = (0..masks[0].len())
                        .map(|p| {
                            let (mut score, mut total) = (0.0, 0.0);
                            for (m, &r) in masks.iter().zip(rows) {
                                let name = data.worker_name(data.worker(r as usize));
                                let s = skills.map_or(1.0, |s| s.get(name).unwrap());
                                total += s;
                                score += s * f64::from(u8::from(m[p]));
                            }
                            2.0 * score - total >= 0.0
                        })
                        .collect();
                    assert_eq!(fit.masks[t].to_bools(), expect, "{n} masks");
                }
            }
        }
    }

    #[test]
    fn pattern_and_pixel_paths_agree() {
        for n in [1, 2, 5, 9] {
            let data = random_data(n, 12, 7 + n as u64);
            let em = SegmentationEm::default();
            let rasa = SegmentationRasa::default();
            for t in 0..data.n_tasks() {
                let rows = data.task_rows(t);
                // Same masks and iterations; the losses (summed by pattern on one path, by
                // pixel on the other) agree up to rounding.
                for (a, b) in [
                    (
                        em.fit_task(&data, rows, true),
                        em.fit_task(&data, rows, false),
                    ),
                    (
                        rasa.fit_task(&data, rows, true),
                        rasa.fit_task(&data, rows, false),
                    ),
                ] {
                    assert_eq!(a.0, b.0);
                    assert_eq!(a.1.iterations, b.1.iterations);
                    for (x, y) in a.1.loss_history.iter().zip(&b.1.loss_history) {
                        assert!(x == y || (x - y).abs() <= 1e-12 * y.abs(), "{x} {y}");
                    }
                }
            }
        }
    }
}
