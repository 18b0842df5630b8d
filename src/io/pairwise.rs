//! Pairwise comparison tables: CSV/TSV with a header naming the worker, left, right and label
//! (winner) columns.

use std::io::Read;
use std::path::Path;

use super::source::{read_opened, whole};
use super::table::{Table, column_options};
use crate::error::{DataError, Error};
use crate::pairwise::PairwiseResponses;

column_options! {
    /// Header names of the columns of a pairwise table (default `worker,left,right,label`, as
    /// crowd-kit's), and the delimiter.
    pub struct PairwiseReadOptions {
        /// Header name of the worker column.
        worker_column = "worker",
        /// Header name of the left item column.
        left_column = "left",
        /// Header name of the right item column.
        right_column = "right",
        /// Header name of the winner column (its value must equal the left or the right item).
        label_column = "label",
    }
}

/// Reads a pairwise comparison table from `path` (`-` for stdin).
///
/// # Errors
/// As the other readers (see [`crate::io`]), plus [`InputError::Data`](crate::error::InputError::Data) at `file:line:column`
/// for an empty field ([`DataError::EmptyField`]), a pair with `left == right`
/// ([`DataError::SelfComparison`], at the right column) or a winner that is neither side
/// ([`DataError::WinnerNotInPair`], at the label column). A header without rows is an empty
/// table, as for responses.
pub fn read_pairwise(
    path: impl AsRef<Path>,
    options: &PairwiseReadOptions,
) -> Result<PairwiseResponses, Error> {
    read_opened(path.as_ref(), options, read_pairwise_from)
}

/// [`read_pairwise`] from any reader; `source_name` names it in errors and, without a set
/// delimiter, picks one by extension.
pub fn read_pairwise_from<R: Read>(
    reader: R,
    source_name: &str,
    options: &PairwiseReadOptions,
) -> Result<PairwiseResponses, Error> {
    let mut table = Table::open_named(reader, source_name, options.delimiter, "comparisons")?;
    let columns = table.columns([
        &options.worker_column,
        &options.left_column,
        &options.right_column,
        &options.label_column,
    ])?;
    let mut builder = PairwiseResponses::builder();
    table.push_rows(
        &columns,
        |[worker, left, right, label]| builder.push(worker, left, right, label),
        |refusal| match refusal {
            DataError::EmptyField { field, .. } => Some(match *field {
                "worker" => columns[0],
                "left" => columns[1],
                "right" => columns[2],
                _ => columns[3],
            }),
            DataError::SelfComparison { .. } => Some(columns[2]),
            DataError::WinnerNotInPair { .. } => Some(columns[3]),
            _ => None,
        },
    )?;
    builder
        .build()
        .map_err(|err| whole(table.file(), err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> String {
        read_pairwise_from(text.as_bytes(), "p.csv", &PairwiseReadOptions::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_and_locates_errors() {
        let data = read_pairwise_from(
            "label,worker,right,left\nb,w1,b,a\n".as_bytes(),
            "p.csv",
            &PairwiseReadOptions::default(),
        )
        .unwrap();
        assert_eq!(data.len(), 1);
        assert!(!data.comparisons()[0].left_won);
        assert_eq!(
            message("worker,left,right,label\nw,a,b,a\n\nw,c,c,c\n"),
            "p.csv:4:3: comparison #2 compares item \"c\" with itself"
        );
        assert_eq!(
            message("worker,left,right,label\nw,a,b,z\n"),
            "p.csv:2:4: winner \"z\" of comparison #1 is neither its left item \"a\" nor its right item \"b\""
        );
        assert_eq!(
            message("worker,left,right,label\n,a,b,a\n"),
            "p.csv:2:1: empty worker in response #1"
        );
        assert_eq!(
            message("worker,left,right\nw,a,b\n"),
            "p.csv:1: missing column \"label\" (header: worker, left, right)"
        );
        let empty = read_pairwise_from(
            "worker,left,right,label\n".as_bytes(),
            "p.csv",
            &PairwiseReadOptions::default(),
        );
        assert!(empty.unwrap().is_empty());
    }
}
