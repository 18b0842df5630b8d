//! Segmentation tables (feature `png`): CSV/TSV rows `task,worker,mask` where `mask` names a
//! PNG file, relative to the table's directory (to the working directory for stdin), as
//! annotation tools export them.
//!
//! # Which pixels are set
//! A pixel is in the mask iff its colour is not zero, whatever the PNG's colour type and bit
//! depth: grayscale (1 to 16 bits): value ≠ 0; RGB: any of R, G, B ≠ 0; palette: index ≠ 0
//! (the class-index convention of palette masks, e.g. PASCAL VOC: index 0 is the background,
//! whatever colour the palette gives it). Alpha is ignored (gray-alpha and RGBA read their
//! colour channels only), so an opaque black background and a transparent one are both
//! outside the mask. Interlaced images are read as the others.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use csv::ByteRecord;
use png::{BitDepth, ColorType, Decoder, Transformations};
use rayon::prelude::*;

use super::source::{delimiter_for, open, whole};
use super::table::{Table, column_options};
use crate::error::{DataError, Error, InputError, Location};
use crate::segmentation::{Mask, SegmentationResponses};

column_options! {
    /// Header names of the columns of a segmentation table (default `task,worker,mask`), and the
    /// delimiter.
    pub struct SegmentationReadOptions {
        /// Header name of the task column.
        task_column = "task",
        /// Header name of the worker column.
        worker_column = "worker",
        /// Header name of the column naming each mask's PNG file.
        mask_column = "mask",
    }
}

/// Decodes a PNG image into a binary [`Mask`] by the rule of this module (nonzero colour =
/// set).
///
/// # Errors
/// The decoder's message when `reader` is not a PNG image it can read (truncated, bad CRC,
/// wrong signature, an image too large for memory).
pub fn decode_mask_png<R: Read>(reader: R) -> Result<Mask, String> {
    // The decoder wants `BufRead + Seek`: read the (small, compressed) file whole.
    let mut bytes = Vec::new();
    BufReader::new(reader)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    let mut decoder = Decoder::new(std::io::Cursor::new(bytes));
    // Raw samples: palette indices stay indices, low bit depths stay packed (unpacked below).
    decoder.set_transformations(Transformations::IDENTITY);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader
        .output_buffer_size()
        .ok_or("the image is too large for memory")?;
    let mut buffer = vec![0; size];
    let frame = reader.next_frame(&mut buffer).map_err(|e| e.to_string())?;
    let (width, height) = (frame.width as usize, frame.height as usize);
    let (channels, colour_channels) = match frame.color_type {
        ColorType::Grayscale | ColorType::Indexed => (1, 1),
        ColorType::GrayscaleAlpha => (2, 1),
        ColorType::Rgb => (3, 3),
        ColorType::Rgba => (4, 3),
    };
    let line = frame.line_size;
    let mut pixels = Vec::with_capacity(width * height);
    for row in buffer[..line * height].chunks_exact(line) {
        match frame.bit_depth {
            BitDepth::One | BitDepth::Two | BitDepth::Four => {
                // One channel (gray or palette), samples packed from the high bits.
                let bits = frame.bit_depth as usize;
                let low = (1u8 << bits) - 1;
                pixels.extend((0..width).map(|x| {
                    let bit = x * bits;
                    (row[bit / 8] >> (8 - bits - bit % 8)) & low != 0
                }));
            }
            BitDepth::Eight | BitDepth::Sixteen => {
                let sample = frame.bit_depth as usize / 8;
                let pixel = channels * sample;
                let colour = colour_channels * sample;
                pixels.extend(
                    row[..width * pixel]
                        .chunks_exact(pixel)
                        .map(|p| p[..colour].iter().any(|&b| b != 0)),
                );
            }
        }
    }
    Mask::from_bools(width, height, pixels).map_err(|e| e.to_string())
}

/// Reads and decodes the PNG file at `path` into a [`Mask`].
///
/// # Errors
/// [`InputError::Io`] when the file cannot be opened, [`InputError::File`] when it is not a
/// PNG image the decoder can read.
pub fn read_mask_png(path: &Path) -> Result<Mask, Error> {
    let file = File::open(path).map_err(|source| InputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_mask_png(file).map_err(|message| whole(path, format!("not a readable PNG: {message}")))
}

/// Reads a segmentation table from `path` (`-` for stdin) and the PNG masks it names.
///
/// # Errors
/// As the other readers (see [`crate::io`]), plus, at `file:line:column` of the mask field: a
/// mask file that cannot be opened or is not a readable PNG (the message names the PNG file),
/// an empty field ([`DataError::EmptyField`]), and a mask of another size than the task's
/// first ([`DataError::MaskSize`]). A table without rows is an error about the whole file.
pub fn read_segmentation(
    path: &Path,
    options: &SegmentationReadOptions,
) -> Result<SegmentationResponses, Error> {
    let (reader, name) = open(path)?;
    let base = if path.as_os_str() == "-" {
        PathBuf::new()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    read_segmentation_from(reader, &name.to_string_lossy(), &base, options)
}

/// [`read_segmentation`] from any reader; `source_name` names it in errors and, without a set
/// delimiter, picks one by extension; mask paths are relative to `base`.
pub fn read_segmentation_from<R: Read>(
    reader: R,
    source_name: &str,
    base: &Path,
    options: &SegmentationReadOptions,
) -> Result<SegmentationResponses, Error> {
    let file = Path::new(source_name);
    let delimiter = options.delimiter.unwrap_or_else(|| delimiter_for(file));
    let mut table = Table::open(reader, file, delimiter, "segmentations")?;
    let columns = [
        table.column(&options.task_column)?,
        table.column(&options.worker_column)?,
        table.column(&options.mask_column)?,
    ];
    let at = |line: u64, column: usize, source: DataError| -> Error {
        InputError::Data {
            location: Location::new(file, line).with_column(column as u64 + 1),
            source: Box::new(source),
        }
        .into()
    };
    // The table first (cheap), then the masks decoded in parallel, then checked in row order
    // so that the first bad row in the file is the one reported.
    struct Row {
        line: u64,
        task: String,
        worker: String,
        mask: PathBuf,
    }
    let mut rows = Vec::new();
    let mut record = ByteRecord::new();
    while table.next(&mut record)? {
        let line = table.line();
        let mut fields = [""; 3];
        for (i, (field, &column)) in fields.iter_mut().zip(&columns).enumerate() {
            *field = table.text(&record, column)?;
            if field.is_empty() {
                let field = ["task", "worker", "mask"][i];
                let record = rows.len() as u64 + 1;
                return Err(at(line, column, DataError::EmptyField { field, record }));
            }
        }
        let [task, worker, mask] = fields;
        rows.push(Row {
            line,
            task: task.to_string(),
            worker: worker.to_string(),
            mask: base.join(mask),
        });
    }
    if rows.is_empty() {
        return Err(table.no_rows());
    }
    let masks: Vec<Result<Mask, String>> = rows
        .par_iter()
        .map(|row| match File::open(&row.mask) {
            Ok(f) => decode_mask_png(f)
                .map_err(|e| format!("mask file {}: not a readable PNG: {e}", row.mask.display())),
            Err(e) => Err(format!("mask file {}: {e}", row.mask.display())),
        })
        .collect();
    let mut builder = SegmentationResponses::builder();
    for (row, mask) in rows.iter().zip(masks) {
        let mask = mask.map_err(|message| {
            Error::from(InputError::Syntax {
                location: Location::new(file, row.line).with_column(columns[2] as u64 + 1),
                message,
            })
        })?;
        builder.push(&row.task, &row.worker, mask).map_err(|e| {
            let column = match &e {
                DataError::MaskSize { .. } => columns[2],
                DataError::EmptyField { field: "task", .. } => columns[0],
                _ => columns[1],
            };
            at(row.line, column, e)
        })?;
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(width: u32, height: u32, colour: ColorType, depth: BitDepth, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(colour);
        encoder.set_depth(depth);
        if colour == ColorType::Indexed {
            // Index 0 is white: the index, not the colour, decides.
            encoder.set_palette(vec![255, 255, 255, 0, 0, 0, 9, 9, 9, 1, 1, 1]);
        }
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(data).unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn every_colour_type_reads_nonzero_colour_as_set() {
        let expect = [false, true, true];
        let cases: [(ColorType, BitDepth, Vec<u8>); 7] = [
            (ColorType::Grayscale, BitDepth::One, vec![0b0110_0000]),
            (ColorType::Grayscale, BitDepth::Four, vec![0x0F, 0x10]),
            (
                ColorType::Grayscale,
                BitDepth::Sixteen,
                vec![0, 0, 0, 1, 1, 0],
            ),
            (ColorType::Indexed, BitDepth::Two, vec![0b0001_1000]),
            (
                ColorType::Rgb,
                BitDepth::Eight,
                vec![0, 0, 0, 0, 0, 1, 7, 0, 0],
            ),
            // Alpha ignored: opaque black is out, transparent red is in.
            (
                ColorType::Rgba,
                BitDepth::Eight,
                vec![0, 0, 0, 255, 0, 2, 0, 0, 3, 0, 0, 0],
            ),
            (
                ColorType::GrayscaleAlpha,
                BitDepth::Eight,
                vec![0, 255, 5, 0, 9, 9],
            ),
        ];
        for (colour, depth, data) in cases {
            let mask = decode_mask_png(&encode(3, 1, colour, depth, &data)[..]).unwrap();
            assert_eq!(mask.to_bools(), expect, "{colour:?} {depth:?}");
        }
    }

    #[test]
    fn written_masks_read_back() {
        // Odd widths: the 1-bit rows end mid-byte.
        for (width, height) in [(1, 1), (13, 3), (8, 2), (17, 5)] {
            let pixels = (0..width * height)
                .map(|i| (i * 7 + i / 3) % 5 < 2)
                .collect();
            let mask = Mask::from_bools(width, height, pixels).unwrap();
            let mut png = Vec::new();
            crate::output::write_mask_png(&mut png, &mask).unwrap();
            assert_eq!(decode_mask_png(&png[..]).unwrap(), mask, "{width}x{height}");
        }
        let empty = Mask::new(0, 3);
        let err = crate::output::write_mask_png(Vec::new(), &empty).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }

    #[test]
    fn not_a_png_is_an_error() {
        assert!(decode_mask_png(&b"GIF89a"[..]).is_err());
        let png = encode(3, 1, ColorType::Grayscale, BitDepth::Eight, &[0, 1, 2]);
        assert!(decode_mask_png(&png[..png.len() - 20]).is_err());
    }
}
