//! `crowdagg aggregate --method binary-relevance`: multi-label answers (a label set per
//! response, joined by a separator in the label column), aggregated per class.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crowdagg::io::ReadOptions;
use crowdagg::methods::{MultiLabelResponses, binary_relevance};

/// Runs BinaryRelevance and renders its output (CSV `task,labels` or JSON); `params` may hold
/// `inner=<method>` (default `mv`) and `separator=<char>` (default `|`); every other pair goes
/// to the inner method. The input is read with `options` (columns, delimiter, duplicates).
/// Returns the output and the read and fit times.
pub fn run(
    input: &Path,
    params: &[(&str, &str)],
    options: &ReadOptions,
    json: bool,
) -> Result<(Vec<u8>, (Duration, Duration)), String> {
    let mut inner = "mv";
    let mut separator = '|';
    let mut inner_params = Vec::new();
    for &(key, value) in params {
        match key {
            "inner" => inner = value,
            "separator" => {
                let mut chars = value.chars();
                separator = match (chars.next(), chars.next()) {
                    (Some(c), None) => c,
                    _ => return Err(format!("separator={value:?}: expected one character")),
                };
            }
            _ => inner_params.push((key, value)),
        }
    }
    let aggregator = binary_relevance(inner, &inner_params).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let data = MultiLabelResponses::read_with_options(input, separator, options)
        .map_err(|e| e.to_string())?;
    let read = started.elapsed();
    if data.n_responses() == 0 {
        eprintln!(
            "crowdagg: note: {}: no responses (a header without rows): the result is empty",
            input.display()
        );
    }
    let result = aggregator.aggregate(&data).map_err(|e| e.to_string())?;
    let fit = started.elapsed() - read;
    let write = |out: &mut dyn Write| -> std::io::Result<()> {
        if json {
            let labels: serde_json::Map<String, serde_json::Value> = result
                .tasks
                .iter()
                .enumerate()
                .map(|(t, task)| (task.clone(), result.class_names(t).into()))
                .collect();
            let report = serde_json::json!({
                "method": "BinaryRelevance",
                "inner": aggregator.inner().name(),
                "classes": result.classes,
                "labels": labels,
            });
            writeln!(out, "{report}")
        } else {
            let mut writer = csv::Writer::from_writer(out);
            writer.write_record(["task", "labels"])?;
            for (t, task) in result.tasks.iter().enumerate() {
                let joined = result.class_names(t).join(&separator.to_string());
                writer.write_record([task.as_str(), joined.as_str()])?;
            }
            writer.flush()
        }
    };
    let mut out = Vec::new();
    write(&mut out).map_err(|e| e.to_string())?;
    Ok((out, (read, fit)))
}
