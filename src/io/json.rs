//! Typed items of a JSON array or of JSON lines, each with the position where it starts.
//!
//! The input is parsed one item at a time from a slice, so an error inside the 1000th element
//! of an array is reported at its own line and column, and semantic checks done by the caller
//! can point at the element.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::source::{at, whole};
use crate::error::Error;

/// Where an item starts: 1-based line and byte column, and its 0-based index in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemPosition {
    pub line: u64,
    pub column: u64,
    pub index: usize,
}

/// Whether `bytes` (after a BOM and whitespace) look like JSON: an array or an object.
pub(crate) fn looks_like_json(bytes: &[u8]) -> bool {
    let start = skip_whitespace(bytes, bom_len(bytes));
    matches!(bytes.get(start), Some(b'[' | b'{'))
}

/// Calls `each` for every item of a JSON array (`[...]`) or of whitespace-separated JSON
/// values (JSON lines). `what` names an item in messages. Returns the number of items.
pub(crate) fn for_each_item<T, F>(
    bytes: &[u8],
    file: &Path,
    what: &str,
    mut each: F,
) -> Result<usize, Error>
where
    T: DeserializeOwned,
    F: FnMut(T, ItemPosition) -> Result<(), Error>,
{
    let mut lines = LineCounter::default();
    let mut pos = skip_whitespace(bytes, bom_len(bytes));
    if pos == bytes.len() {
        return Err(whole(file, format!("no {what}s (the file is empty)")));
    }
    let array = bytes[pos] == b'[';
    if array {
        pos = skip_whitespace(bytes, pos + 1);
        if bytes.get(pos) == Some(&b']') {
            return Ok(0);
        }
    }
    let mut index = 0;
    loop {
        if pos == bytes.len() {
            if array {
                return Err(lines.error_at(
                    bytes,
                    pos,
                    file,
                    "truncated JSON: the array is not closed",
                ));
            }
            return Ok(index);
        }
        let (line, column) = lines.position(bytes, pos);
        let start = ItemPosition {
            line,
            column,
            index,
        };
        let mut stream = serde_json::Deserializer::from_slice(&bytes[pos..]).into_iter::<T>();
        match stream.next() {
            Some(Ok(item)) => each(item, start)?,
            Some(Err(err)) => return Err(json_error(file, what, &err, start)),
            None => return Ok(index),
        }
        pos = skip_whitespace(bytes, pos + stream.byte_offset());
        index += 1;
        if array {
            match bytes.get(pos) {
                Some(b',') => pos = skip_whitespace(bytes, pos + 1),
                Some(b']') => {
                    let end = skip_whitespace(bytes, pos + 1);
                    if end != bytes.len() {
                        return Err(lines.error_at(
                            bytes,
                            end,
                            file,
                            "invalid JSON: trailing characters after the array",
                        ));
                    }
                    return Ok(index);
                }
                Some(_) => {
                    return Err(lines.error_at(
                        bytes,
                        pos,
                        file,
                        "invalid JSON: expected ',' or ']' after an array element",
                    ));
                }
                None => {}
            }
        }
    }
}

/// Converts a serde_json error inside an item (positions relative to the item's start) into
/// a located input error.
fn json_error(file: &Path, what: &str, err: &serde_json::Error, start: ItemPosition) -> Error {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text);
    let message = match err.classify() {
        serde_json::error::Category::Eof => format!("truncated JSON: {message}"),
        serde_json::error::Category::Data => format!("invalid {what}: {message}"),
        _ => format!("invalid JSON: {message}"),
    };
    if err.line() == 0 {
        return at(file, start.line, Some(start.column), message);
    }
    let line = start.line + err.line() as u64 - 1;
    let column = if err.line() == 1 {
        start.column + err.column() as u64 - 1
    } else {
        err.column() as u64
    };
    at(file, line, Some(column), message)
}

/// An identifier given as a JSON string or integer (kept as its text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Id(pub String);

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl serde::de::Visitor<'_> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or integer id")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

fn bom_len(bytes: &[u8]) -> usize {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    }
}

fn skip_whitespace(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(pos) {
        pos += 1;
    }
    pos.min(bytes.len())
}

/// Line and column of byte offsets, computed incrementally (offsets only move forward).
#[derive(Default)]
struct LineCounter {
    scanned: usize,
    newlines: u64,
    line_start: usize,
}

impl LineCounter {
    fn position(&mut self, bytes: &[u8], pos: usize) -> (u64, u64) {
        let end = pos.min(bytes.len());
        if end > self.scanned {
            for (i, &b) in bytes[self.scanned..end].iter().enumerate() {
                if b == b'\n' {
                    self.newlines += 1;
                    self.line_start = self.scanned + i + 1;
                }
            }
            self.scanned = end;
        }
        (self.newlines + 1, (pos - self.line_start) as u64 + 1)
    }

    /// A syntax error at byte `pos` of `bytes` (the input of `file`).
    fn error_at(&mut self, bytes: &[u8], pos: usize, file: &Path, message: &str) -> Error {
        let (line, column) = self.position(bytes, pos);
        at(file, line, Some(column), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str) -> Result<Vec<(i64, ItemPosition)>, String> {
        let mut out = Vec::new();
        for_each_item(text.as_bytes(), Path::new("x.json"), "item", |v: i64, p| {
            out.push((v, p));
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn array_and_lines_give_positions() {
        let items = collect("[1,\n  2 ,3]").unwrap();
        let lines: Vec<_> = items.iter().map(|(v, p)| (*v, p.line, p.column)).collect();
        assert_eq!(lines, [(1, 1, 2), (2, 2, 3), (3, 2, 6)]);
        let items = collect("1\n\n  2\n").unwrap();
        let lines: Vec<_> = items.iter().map(|(v, p)| (*v, p.line, p.column)).collect();
        assert_eq!(lines, [(1, 1, 1), (2, 3, 3)]);
        assert_eq!(collect("[]").unwrap(), []);
    }

    #[test]
    fn errors_are_located_in_the_whole_file() {
        for (text, message) in [
            (
                "[1,\n 2,\n 3",
                "x.json:3:3: truncated JSON: the array is not closed",
            ),
            (
                "[1,\n \"a\"]",
                "x.json:2:4: invalid item: invalid type: string \"a\", expected i64",
            ),
            (
                "[1 2]",
                "x.json:1:4: invalid JSON: expected ',' or ']' after an array element",
            ),
            ("", "x.json: no items (the file is empty)"),
        ] {
            assert_eq!(collect(text).unwrap_err(), message, "{text:?}");
        }
    }
}
