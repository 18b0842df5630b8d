//! `crowdagg aggregate --method binary-relevance`: multi-label answers (a label set per
//! response, joined by a separator in the label column), aggregated per class.

use std::path::Path;
use std::time::{Duration, Instant};

use crowdagg::ParamsError;
use crowdagg::io::ReadOptions;
use crowdagg::methods::{Method, MultiLabelResponses};
use crowdagg::output::{write_multilabel_csv, write_multilabel_json};

use super::CliError;

/// Runs `method` (BinaryRelevance, the registry's label-set method) and renders its output (CSV `task,labels` or JSON); `params` may hold
/// `inner=<method>` (default `mv`) and `separator=<char>` (default `|`); every other pair goes
/// to the inner method. The input is read with `options` (columns, delimiter, duplicates).
/// Returns the output and the read and fit times.
pub fn run(
    method: &Method,
    input: &Path,
    params: &[(&str, &str)],
    options: &ReadOptions,
    json: bool,
) -> Result<(Vec<u8>, (Duration, Duration)), CliError> {
    let (aggregator, own) = method.build_label_sets(params).map_err(|e| match e {
        // The CLI's long-standing wording for a separator of several characters.
        ParamsError::Parse { name, value, .. } if name == "separator" => {
            CliError::Usage(format!("separator={value:?}: expected one character"))
        }
        e => e.into(),
    })?;
    let started = Instant::now();
    let data = MultiLabelResponses::read_with_options(input, own.separator, options)?;
    let read = started.elapsed();
    if data.n_responses() == 0 {
        eprintln!(
            "crowdagg: note: {}: no responses (a header without rows): the result is empty",
            input.display()
        );
    }
    let result = aggregator.aggregate(&data)?;
    let fit = started.elapsed() - read;
    let mut out = Vec::new();
    if json {
        write_multilabel_json(&mut out, &result, aggregator.inner().name())
    } else {
        write_multilabel_csv(&mut out, &result, own.separator)
    }
    .map_err(|e| CliError::Io(e.to_string()))?;
    Ok((out, (read, fit)))
}
