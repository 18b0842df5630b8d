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
    keys: RowKeys,
    masks: Vec<Mask>,
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

    crate::rows::row_key_accessors!();

    /// Mask of row `row`.
    pub fn mask(&self, row: usize) -> &Mask {
        &self.masks[row]
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

    crate::rows::row_builder_len!();

    /// Renumbers tasks and workers canonically and indexes rows by task.
    pub fn build(self) -> SegmentationResponses {
        SegmentationResponses {
            keys: self.keys.build(),
            masks: self.masks,
        }
    }
}
