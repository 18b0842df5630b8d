//! Image segmentations: binary masks drawn by workers on the same image, the input of
//! [`SegmentationMajorityVote`](crate::SegmentationMajorityVote),
//! [`SegmentationRasa`](crate::SegmentationRasa) and [`SegmentationEm`](crate::SegmentationEm).
//!
//! A [`Mask`] is a width × height grid of booleans (row-major). A [`SegmentationResponses`]
//! holds rows `(task, worker, mask)`, crowd-kit's `task, worker, segmentation` frame; the masks
//! of one task all have its first mask's size. Tasks and workers are interned in the crate's
//! canonical order (crowd-kit's `groupby("task")`), rows keep their input order. Masks are read
//! from PNG files by `io::read_segmentation` and written by `output::write_masks_png` (feature
//! `png`).
//!
//! ```
//! use crowdagg::{Mask, SegmentationResponses};
//!
//! let a = Mask::from_bools(2, 1, vec![true, false])?;
//! let mut builder = SegmentationResponses::builder();
//! builder.push("img1", "w1", a.clone())?;
//! assert!(builder.push("img1", "w2", Mask::new(3, 1)).is_err()); // another size
//! let data = builder.build();
//! assert_eq!((data.n_tasks(), data.len(), data.mask(0).count()), (1, 1, 1));
//! # Ok::<(), crowdagg::DataError>(())
//! ```

use crate::error::DataError;
use crate::responses::Interner;
use crate::rows::{RowKeys, RowKeysBuilder};

/// A binary mask: `width × height` pixels, row-major.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mask {
    width: usize,
    height: usize,
    pixels: Vec<bool>,
}

impl Mask {
    /// An empty (all false) mask.
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            pixels: vec![false; width * height],
        }
    }

    /// A mask from its pixels, row by row.
    ///
    /// # Errors
    /// [`DataError::MaskPixelCount`] unless there are `width × height` pixels.
    pub fn from_bools(width: usize, height: usize, pixels: Vec<bool>) -> Result<Self, DataError> {
        if Some(pixels.len()) != width.checked_mul(height) {
            return Err(DataError::MaskPixelCount {
                width,
                height,
                found: pixels.len(),
            });
        }
        Ok(Self {
            width,
            height,
            pixels,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixels, row by row.
    pub fn pixels(&self) -> &[bool] {
        &self.pixels
    }

    /// The pixel at column `x`, row `y`.
    pub fn get(&self, x: usize, y: usize) -> bool {
        self.pixels[y * self.width + x]
    }

    /// The number of set pixels.
    pub fn count(&self) -> usize {
        self.pixels.iter().filter(|&&p| p).count()
    }
}

/// A table of segmentation masks (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SegmentationResponses {
    tasks: Interner,
    workers: Interner,
    task_of: Vec<u32>,
    worker_of: Vec<u32>,
    masks: Vec<Mask>,
    task_offsets: Vec<usize>,
    task_rows: Vec<u32>,
}

impl SegmentationResponses {
    /// A builder to push rows into.
    pub fn builder() -> SegmentationBuilder {
        SegmentationBuilder::default()
    }

    /// Builds from `(task, worker, mask)` rows.
    ///
    /// # Errors
    /// As [`SegmentationBuilder::push`].
    pub fn from_rows<I, T, W>(rows: I) -> Result<Self, DataError>
    where
        I: IntoIterator<Item = (T, W, Mask)>,
        T: AsRef<str>,
        W: AsRef<str>,
    {
        let mut builder = Self::builder();
        for (t, w, m) in rows {
            builder.push(t.as_ref(), w.as_ref(), m)?;
        }
        Ok(builder.build())
    }

    /// Number of distinct tasks.
    pub fn n_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Number of distinct workers.
    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.task_of.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.task_of.is_empty()
    }

    /// Task id of row `row` (rows numbered from 0 in input order).
    pub fn task(&self, row: usize) -> usize {
        self.task_of[row] as usize
    }

    /// Worker id of row `row`.
    pub fn worker(&self, row: usize) -> usize {
        self.worker_of[row] as usize
    }

    /// Mask of row `row`.
    pub fn mask(&self, row: usize) -> &Mask {
        &self.masks[row]
    }

    /// The rows of task `task`, in input order.
    pub fn task_rows(&self, task: usize) -> &[u32] {
        &self.task_rows[self.task_offsets[task]..self.task_offsets[task + 1]]
    }

    /// The name of task `task`.
    pub fn task_name(&self, task: usize) -> &str {
        &self.tasks[task]
    }

    /// The name of worker `worker`.
    pub fn worker_name(&self, worker: usize) -> &str {
        &self.workers[worker]
    }

    /// The id of the task called `name`.
    pub fn task_id(&self, name: &str) -> Option<usize> {
        self.tasks.get_index_of(name)
    }
}

/// Collects rows by name; [`SegmentationBuilder::build`] renumbers ids canonically.
#[derive(Debug, Default)]
pub struct SegmentationBuilder {
    keys: RowKeysBuilder,
    masks: Vec<Mask>,
    /// (width, height) of each task's first mask, by builder task id.
    sizes: Vec<(usize, usize)>,
}

impl SegmentationBuilder {
    /// Adds one row.
    ///
    /// # Errors
    /// [`DataError::EmptyField`] for an empty task or worker, [`DataError::MaskSize`] when the
    /// mask's size differs from the task's first mask (rows numbered from 1 in push order),
    /// [`DataError::TooManyIds`] past 2³² ids.
    pub fn push(&mut self, task: &str, worker: &str, mask: Mask) -> Result<(), DataError> {
        self.keys.check(task, worker)?;
        let record = self.keys.next_record();
        let t = self.keys.task_id(task);
        if t as usize == self.sizes.len() {
            self.sizes.push((mask.width, mask.height));
        }
        let (expected_width, expected_height) = self.sizes[t as usize];
        if (mask.width, mask.height) != (expected_width, expected_height) {
            return Err(DataError::MaskSize {
                task: task.to_string(),
                expected_width,
                expected_height,
                width: mask.width,
                height: mask.height,
                record,
            });
        }
        self.keys.push(t, worker);
        self.masks.push(mask);
        Ok(())
    }

    /// Renumbers tasks and workers canonically and indexes rows by task.
    pub fn build(self) -> SegmentationResponses {
        let RowKeys {
            tasks,
            workers,
            task_of,
            worker_of,
            task_offsets,
            task_rows,
        } = self.keys.build();
        SegmentationResponses {
            tasks,
            workers,
            task_of,
            worker_of,
            masks: self.masks,
            task_offsets,
            task_rows,
        }
    }
}
