//! `crowdagg convert IN OUT`: a response table between CSV/TSV and Parquet, chosen by the
//! names' extensions; and the Parquet writers `aggregate` picks for `.parquet` outputs.

use std::io::Write;
use std::path::{Path, PathBuf};

use crowdagg::io::{delimiter_for, is_parquet};
use crowdagg::{Aggregation, Responses};

use super::{CliError, InputArgs, write_whole};

#[derive(clap::Args)]
pub(crate) struct ConvertArgs {
    /// Input response table: CSV/TSV, or Parquet when named `.parquet` (`-`: CSV on stdin).
    input: PathBuf,
    /// Output: Parquet when named `.parquet`, else CSV (TSV for .tsv/.tab; `-`: CSV on
    /// stdout). Written whole or not at all.
    output: PathBuf,
    #[command(flatten)]
    input_args: InputArgs,
}

/// Reads the input as `aggregate` does (same options) and writes its three columns: rows
/// grouped by task, in canonical id order. Reading the output gives the same responses.
pub(crate) fn convert(args: ConvertArgs) -> Result<(), CliError> {
    let data = args.input_args.read_responses(&args.input)?;
    let output = &args.output;
    write_whole(Some(output), |out| write_responses(out, &data, output))
}

fn write_responses(out: &mut dyn Write, data: &Responses, path: &Path) -> std::io::Result<()> {
    if is_parquet(path) {
        #[cfg(feature = "parquet")]
        return crowdagg::output::write_responses_parquet(out, data);
        #[cfg(not(feature = "parquet"))]
        return Err(no_parquet());
    }
    crowdagg::output::write_responses_csv(out, data, delimiter_for(path))
}

/// Whether an output path asks for Parquet.
pub(crate) fn wants_parquet(path: Option<&Path>) -> bool {
    path.is_some_and(is_parquet)
}

/// Declares `aggregate`'s writer of a result as Parquet: the library's writer with the
/// `parquet` feature, an error that says how to get it without.
macro_rules! parquet_result_writer {
    ($(#[$doc:meta])* $name:ident => $library:ident) => {
        $(#[$doc])*
        pub(crate) fn $name(
            out: &mut dyn Write,
            data: &Responses,
            result: &Aggregation,
        ) -> std::io::Result<()> {
            #[cfg(feature = "parquet")]
            return crowdagg::output::$library(out, data, result);
            #[cfg(not(feature = "parquet"))]
            {
                let _ = (out, data, result);
                Err(no_parquet())
            }
        }
    };
}

parquet_result_writer! {
    /// `aggregate --output x.parquet`: labels, confidences and probabilities as Parquet.
    write_results => write_parquet
}

parquet_result_writer! {
    /// `aggregate --workers x.parquet`: the worker model as Parquet.
    write_workers => write_workers_parquet
}

#[cfg(not(feature = "parquet"))]
fn no_parquet() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "writing Parquet needs the `parquet` feature, which this build lacks (cargo install crowdagg --features parquet)",
    )
}
