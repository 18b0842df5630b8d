//! A delimited table with a header row, read record by record into a reused [`ByteRecord`].
//!
//! The csv crate does the RFC 4180 parsing. Two things it does not do are handled here by
//! [`QuoteGuard`], a pass-through reader: skipping a UTF-8 byte order mark, and noticing a
//! quoted field that is never closed (csv reads it silently to the end of the file).

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};

use csv::{ByteRecord, ReaderBuilder};

use super::source::{at, delimiter_for, io_error, whole};
use crate::error::{DataError, Error, InputError, Location};

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// Where the quote state machine is, mirroring csv-core's rules (quotes open a field only at
/// its start, `""` inside quotes is a literal quote, CR and LF end records).
#[derive(Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// Passes bytes through, dropping a leading BOM and tracking whether the input ends inside a
/// quoted field (and where that field opened).
pub(crate) struct QuoteGuard<R> {
    inner: R,
    delimiter: u8,
    /// Bytes read before deciding whether the input starts with a BOM.
    prefix: [u8; 3],
    prefix_len: usize,
    prefix_pos: usize,
    started: bool,
    state: QuoteState,
    line: u64,
    field: u64,
    /// Line and 1-based field index of the currently open quoted field.
    open_quote: (u64, u64),
    eof: bool,
    /// Whether the next byte starts a record (csv skips empty lines, so must we).
    at_record_start: bool,
    /// Start lines of records seen here but not yet taken by the table, in order. csv's own
    /// positions are not usable: they point before skipped blank lines and, with CRLF, at the
    /// previous line. Bounded by the csv buffer.
    record_lines: VecDeque<u64>,
}

impl<R: Read> QuoteGuard<R> {
    pub(crate) fn new(inner: R, delimiter: u8) -> Self {
        Self {
            inner,
            delimiter,
            prefix: [0; 3],
            prefix_len: 0,
            prefix_pos: 0,
            started: false,
            state: QuoteState::FieldStart,
            line: 1,
            field: 1,
            open_quote: (0, 0),
            eof: false,
            at_record_start: true,
            record_lines: VecDeque::new(),
        }
    }

    /// If the whole input has been read and it ended inside a quoted field: where the field
    /// opened (line, 1-based field index).
    pub(crate) fn unterminated_quote(&self) -> Option<(u64, u64)> {
        (self.eof && self.state == QuoteState::Quoted).then_some(self.open_quote)
    }

    fn start(&mut self) -> std::io::Result<()> {
        while self.prefix_len < BOM.len() {
            let n = self.inner.read(&mut self.prefix[self.prefix_len..])?;
            if n == 0 {
                break;
            }
            self.prefix_len += n;
        }
        if self.prefix[..self.prefix_len] == BOM[..] {
            self.prefix_len = 0;
        }
        self.started = true;
        Ok(())
    }

    fn track(&mut self, bytes: &[u8]) {
        use QuoteState::*;
        for &b in bytes {
            let newline = b == b'\n' || b == b'\r';
            if self.at_record_start && !newline {
                self.record_lines.push_back(self.line);
                self.at_record_start = false;
            }
            let end_of_field = b == self.delimiter || b == b'\n' || b == b'\r';
            self.state = match (self.state, b) {
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (FieldStart, b'"') => {
                    self.open_quote = (self.line, self.field);
                    Quoted
                }
                (_, _) if end_of_field => FieldStart,
                _ => Unquoted,
            };
            if b == b'\n' {
                self.line += 1;
            }
            if self.state == FieldStart {
                if newline {
                    self.field = 1;
                    self.at_record_start = true;
                } else {
                    self.field += 1;
                }
            }
        }
    }
}

impl<R: Read> Read for QuoteGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.started {
            self.start()?;
        }
        let n = if self.prefix_pos < self.prefix_len {
            let n = (self.prefix_len - self.prefix_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.prefix[self.prefix_pos..self.prefix_pos + n]);
            self.prefix_pos += n;
            n
        } else {
            self.inner.read(buf)?
        };
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        self.track(&buf[..n]);
        Ok(n)
    }
}

/// A header-first delimited table.
pub(crate) struct Table<R: Read> {
    reader: csv::Reader<QuoteGuard<R>>,
    file: PathBuf,
    header: Vec<String>,
    delimiter: u8,
    /// What the rows are (`responses`, `texts`, …), for `no <what>` errors.
    what: &'static str,
    /// Start line of the current record.
    line: u64,
}

impl<R: Read> Table<R> {
    /// Reads the header row. An input without one is reported as `no <what>`.
    pub(crate) fn open(
        input: R,
        file: &Path,
        delimiter: u8,
        what: &'static str,
    ) -> Result<Self, Error> {
        let mut reader = ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(QuoteGuard::new(input, delimiter));
        let raw = match reader.byte_headers() {
            Ok(raw) => raw.clone(),
            Err(err) => return Err(csv_error(&reader, file, err)),
        };
        let mut table = Self {
            reader,
            file: file.to_path_buf(),
            header: Vec::new(),
            delimiter,
            what,
            line: 1,
        };
        table.take_record_line();
        if let Some(err) = table.quote_error() {
            return Err(err);
        }
        if raw.is_empty() || (raw.len() == 1 && raw[0].is_empty()) {
            return Err(whole(file, format!("no {what} (the file is empty)")));
        }
        table.header = raw
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_string())
            .collect();
        Ok(table)
    }

    /// Like [`Table::open`] for an input called `source_name`, with `delimiter` or, when it is
    /// `None`, the one the name's extension implies.
    pub(crate) fn open_named(
        input: R,
        source_name: &str,
        delimiter: Option<u8>,
        what: &'static str,
    ) -> Result<Self, Error> {
        let file = Path::new(source_name);
        Self::open(
            input,
            file,
            delimiter.unwrap_or_else(|| delimiter_for(file)),
            what,
        )
    }

    pub(crate) fn file(&self) -> &Path {
        &self.file
    }

    /// The error for a table that has a header but no rows, where rows are required.
    pub(crate) fn no_rows(&self) -> Error {
        let what = self.what;
        whole(
            &self.file,
            format!("no {what} (the file has a header but no rows)"),
        )
    }

    /// The line the current record starts on.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    fn take_record_line(&mut self) {
        if let Some(line) = self.reader.get_mut().record_lines.pop_front() {
            self.line = line;
        }
    }

    pub(crate) fn header(&self) -> &[String] {
        &self.header
    }

    /// The 0-based index of column `name`, if present exactly once.
    pub(crate) fn find(&self, name: &str) -> Result<Option<usize>, Error> {
        let mut found = self.header.iter().enumerate().filter(|(_, h)| *h == name);
        let first = found.next().map(|(i, _)| i);
        if let Some((second, _)) = found.next() {
            return Err(at(
                &self.file,
                1,
                Some(second as u64 + 1),
                format!(
                    "column {name:?} appears more than once in the header (columns {} and {})",
                    first.map_or(0, |i| i + 1),
                    second + 1
                ),
            ));
        }
        Ok(first)
    }

    /// The 0-based index of a required column.
    pub(crate) fn column(&self, name: &str) -> Result<usize, Error> {
        self.find(name)?.ok_or_else(|| {
            at(
                &self.file,
                1,
                None,
                format!("missing column {name:?} ({})", self.header_explained(name)),
            )
        })
    }

    /// The header as split, with the delimiter that split it, for a missing column `name`;
    /// hints at another delimiter when the header holds one, and at the Toloka reader when the
    /// header is a Toloka results export.
    fn header_explained(&self, name: &str) -> String {
        let other = [b';', b'\t', b',', b'|']
            .into_iter()
            .find(|&d| d != self.delimiter && self.header.iter().any(|h| h.contains(d as char)));
        let mut text = match (self.header.as_slice(), other) {
            ([single], _) => format!(
                "header split on {} into 1 field: {single:?}",
                delimiter_name(self.delimiter)
            ),
            (fields, Some(_)) => format!(
                "header split on {}: {}",
                delimiter_name(self.delimiter),
                fields.join(", ")
            ),
            (fields, None) => format!("header: {}", fields.join(", ")),
        };
        if let Some(other) = other {
            let delimiter = match other {
                b'\t' => "tab".to_string(),
                d => format!("'{}'", d as char),
            };
            // Library words (`ReadOptions::delimiter`); the CLI turns them into its flag.
            text.push_str(&format!(
                "; it contains {}: set the delimiter to {delimiter}",
                delimiter_name(other)
            ));
        }
        let toloka = ["INPUT:", "OUTPUT:", "GOLDEN:", "ASSIGNMENT:"];
        if !toloka.iter().any(|p| name.starts_with(p))
            && self
                .header
                .iter()
                .any(|h| toloka.iter().any(|p| h.starts_with(p)))
        {
            text.push_str(
                "; this is a Toloka results export: read it as one (io::read_toloka_tsv)",
            );
        }
        text
    }

    /// The header as a comma-separated list, for messages.
    fn header_list(&self) -> String {
        self.header.join(", ")
    }

    /// An error at the header: `missing <what> (<why>header: a, b, c)`, where `why` (empty, or
    /// ending in `; `) says what the header should have had.
    pub(crate) fn missing(&self, what: &str, why: &str) -> Error {
        at(
            &self.file,
            1,
            None,
            format!("missing {what} ({why}header: {})", self.header_list()),
        )
    }

    /// Reads the next record; `false` at the end of the input. Rows with a different number
    /// of fields than the header are errors.
    pub(crate) fn next(&mut self, record: &mut ByteRecord) -> Result<bool, Error> {
        match self.reader.read_byte_record(record) {
            Ok(false) => match self.quote_error() {
                Some(err) => Err(err),
                None => Ok(false),
            },
            Ok(true) => {
                self.take_record_line();
                if record.len() != self.header.len() {
                    return Err(self.quote_error().unwrap_or_else(|| {
                        at(
                            &self.file,
                            self.line,
                            None,
                            format!(
                                "expected {} fields as in the header, found {}",
                                self.header.len(),
                                record.len()
                            ),
                        )
                    }));
                }
                Ok(true)
            }
            Err(err) => Err(csv_error(&self.reader, &self.file, err)),
        }
    }

    /// The 0-based indices of required columns, in the order named.
    pub(crate) fn columns<const N: usize>(&self, names: [&str; N]) -> Result<[usize; N], Error> {
        let mut columns = [0; N];
        for (column, name) in columns.iter_mut().zip(names) {
            *column = self.column(name)?;
        }
        Ok(columns)
    }

    /// Fields `columns` of `record` as UTF-8 text (see [`Table::text`]).
    pub(crate) fn fields<'r, const N: usize>(
        &self,
        record: &'r ByteRecord,
        columns: &[usize; N],
    ) -> Result<[&'r str; N], Error> {
        let mut fields = [""; N];
        for (field, &column) in fields.iter_mut().zip(columns) {
            *field = self.text(record, column)?;
        }
        Ok(fields)
    }

    /// Reads every remaining row, handing its fields `columns` to `push`. A row `push` refuses
    /// is an error at the column `column_of` names for the refusal, or about the whole file
    /// when it names none.
    pub(crate) fn push_rows<const N: usize>(
        &mut self,
        columns: &[usize; N],
        mut push: impl FnMut([&str; N]) -> Result<(), DataError>,
        column_of: impl Fn(&DataError) -> Option<usize>,
    ) -> Result<(), Error> {
        let mut record = ByteRecord::new();
        while self.next(&mut record)? {
            if let Err(source) = push(self.fields(&record, columns)?) {
                return Err(match column_of(&source) {
                    Some(column) => self.data_error(column, source),
                    None => whole(self.file(), source.to_string()),
                });
            }
        }
        Ok(())
    }

    /// A row the data model refused (`source`), located at `column` of the current record.
    pub(crate) fn data_error(&self, column: usize, source: DataError) -> Error {
        let location = Location::new(&self.file, self.line).with_column(column as u64 + 1);
        InputError::Data {
            location,
            source: Box::new(source),
        }
        .into()
    }

    /// Field `column` of `record` as UTF-8 text; `what` names it in errors.
    pub(crate) fn text<'r>(&self, record: &'r ByteRecord, column: usize) -> Result<&'r str, Error> {
        let bytes = record.get(column).unwrap_or_default();
        std::str::from_utf8(bytes).map_err(|err| {
            self.quote_error().unwrap_or_else(|| {
                at(
                    &self.file,
                    self.line,
                    Some(column as u64 + 1),
                    format!(
                        "invalid UTF-8 in column {:?} (after byte {})",
                        self.header[column],
                        err.valid_up_to()
                    ),
                )
            })
        })
    }

    /// Like [`Table::text`], but an empty field is an error.
    pub(crate) fn required<'r>(
        &self,
        record: &'r ByteRecord,
        column: usize,
    ) -> Result<&'r str, Error> {
        let value = self.text(record, column)?;
        if value.is_empty() {
            return Err(self.quote_error().unwrap_or_else(|| {
                at(
                    &self.file,
                    self.line,
                    Some(column as u64 + 1),
                    format!("empty {}", self.header[column]),
                )
            }));
        }
        Ok(value)
    }

    /// An error at the line where the current record starts.
    pub(crate) fn error_at(&self, column: Option<usize>, message: impl Into<String>) -> Error {
        self.quote_error()
            .unwrap_or_else(|| at(&self.file, self.line, column.map(|c| c as u64 + 1), message))
    }

    /// A quoted field left open at the end of the input explains any error in the record that
    /// swallowed the rest of the file, so it is reported first.
    fn quote_error(&self) -> Option<Error> {
        let (line, field) = self.reader.get_ref().unterminated_quote()?;
        Some(at(
            &self.file,
            line,
            Some(field),
            "unterminated quoted field (the closing quote is missing)",
        ))
    }
}

/// A delimiter as messages name it: `','`, `';'`, `tab`.
fn delimiter_name(delimiter: u8) -> String {
    match delimiter {
        b'\t' => "tab".into(),
        d if d.is_ascii_graphic() || d == b' ' => format!("'{}'", d as char),
        d => format!("byte {d:#04x}"),
    }
}

fn csv_error<R: Read>(reader: &csv::Reader<QuoteGuard<R>>, file: &Path, err: csv::Error) -> Error {
    if let Some((line, field)) = reader.get_ref().unterminated_quote() {
        return at(
            file,
            line,
            Some(field),
            "unterminated quoted field (the closing quote is missing)",
        );
    }
    let line = err.position().map(|p| p.line());
    match err.into_kind() {
        csv::ErrorKind::Io(source) => io_error(file, source),
        // Byte records and flexible field counts leave only I/O errors in practice.
        kind => {
            let message = format!("CSV error: {kind:?}");
            match line {
                Some(line) => at(file, line, None, message),
                None => whole(file, message),
            }
        }
    }
}

/// Declares the options of a table reader that only names columns: one `String` field per
/// column with its default header name, the delimiter, and `Default` from those names.
macro_rules! column_options {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* $field:ident = $default:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: String, )+
            /// Field delimiter; `None` picks tab for `.tsv`/`.tab` files and comma otherwise.
            pub delimiter: Option<u8>,
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $( $field: $default.into(), )+
                    delimiter: None,
                }
            }
        }
    };
}
pub(crate) use column_options;
