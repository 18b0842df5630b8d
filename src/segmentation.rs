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

/// A binary mask: `width × height` pixels, row-major, stored bit-packed: pixel `i` is bit
/// `i % 64` of word `i / 64`, and the bits past the last pixel are zero (so that masks compare
/// and hash by their words). Packing makes the segmentation methods' passes over the pixels
/// word operations: a vote pattern or an intersection covers 64 pixels at once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mask {
    width: usize,
    height: usize,
    words: Vec<u64>,
}

impl Mask {
    /// An empty (all false) mask.
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            words: vec![0; (width * height).div_ceil(64)],
        }
    }

    /// A mask from its pixels, row by row.
    ///
    /// # Errors
    /// [`DataError::MaskPixelCount`] unless there are `width × height` pixels.
    pub fn from_bools(width: usize, height: usize, pixels: Vec<bool>) -> Result<Self, DataError> {
        Self::from_pixels(width, height, pixels.len(), pixels)
    }

    /// A mask from `count` pixels given in row order by an iterator (no intermediate vector).
    ///
    /// # Errors
    /// [`DataError::MaskPixelCount`] unless `count` is `width × height` and the iterator yields
    /// exactly `count` pixels.
    pub fn from_pixels(
        width: usize,
        height: usize,
        count: usize,
        pixels: impl IntoIterator<Item = bool>,
    ) -> Result<Self, DataError> {
        let wrong = |found| DataError::MaskPixelCount {
            width,
            height,
            found,
        };
        if Some(count) != width.checked_mul(height) {
            return Err(wrong(count));
        }
        let mut words = vec![0u64; count.div_ceil(64)];
        let mut found = 0usize;
        for pixel in pixels {
            if found < count {
                words[found / 64] |= u64::from(pixel) << (found % 64);
            }
            found += 1;
        }
        if found != count {
            return Err(wrong(found));
        }
        Ok(Self {
            width,
            height,
            words,
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

    /// The number of pixels, `width × height`.
    pub fn len(&self) -> usize {
        self.width * self.height
    }

    /// Whether the mask has no pixels (a zero side).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The packed pixels: pixel `i` (row-major) is bit `i % 64` of word `i / 64`; the bits past
    /// the last pixel are zero.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The pixels, row by row, one `bool` each.
    pub fn to_bools(&self) -> Vec<bool> {
        (0..self.len())
            .map(|i| (self.words[i / 64] >> (i % 64)) & 1 == 1)
            .collect()
    }

    /// The pixel at column `x`, row `y`.
    ///
    /// # Panics
    /// When `x` or `y` is outside the mask.
    pub fn get(&self, x: usize, y: usize) -> bool {
        assert!(x < self.width && y < self.height, "pixel outside the mask");
        let i = y * self.width + x;
        (self.words[i / 64] >> (i % 64)) & 1 == 1
    }

    /// The number of set pixels.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// A mask of this one's size from packed words (the methods' output).
    pub(crate) fn with_words(&self, words: Vec<u64>) -> Self {
        debug_assert_eq!(words.len(), self.words.len());
        Self {
            width: self.width,
            height: self.height,
            words,
        }
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
