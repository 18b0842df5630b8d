//! Worker skills: CSV/TSV (`worker,skill`, or Toloka's `user_id,skill_id,value` layout) or
//! JSON (an array or JSON lines of Toloka `UserSkill` objects).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use csv::ByteRecord;
use serde::Deserialize;

use super::json::{Id, for_each_item, looks_like_json};
use super::source::{at, delimiter_for, read_all, whole};
use super::table::Table;
use crate::aggregation::Skills;
use crate::error::{Error, Location};

/// Reads skills from `path` (`-` for stdin), choosing the format from the content: JSON when
/// it starts with `[` or `{`, otherwise a delimited table (tab for `.tsv`/`.tab`).
///
/// When the input names skill ids (Toloka layouts), `skill_id` selects one; without it, an
/// input holding several skill ids is an error. Rows without a skill id are always kept.
pub fn read_skills(path: impl AsRef<Path>, skill_id: Option<&str>) -> Result<Skills, Error> {
    let (bytes, name) = read_all(path.as_ref())?;
    read_skills_from_bytes(&bytes, &name.to_string_lossy(), skill_id)
}

/// Like [`read_skills`], from bytes already in memory; `source_name` names them in errors and
/// picks the delimiter by extension.
pub fn read_skills_from_bytes(
    bytes: &[u8],
    source_name: &str,
    skill_id: Option<&str>,
) -> Result<Skills, Error> {
    let file = Path::new(source_name);
    let rows = if looks_like_json(bytes) {
        json_rows(bytes, file)?
    } else {
        table_rows(bytes, file)?
    };
    select(rows, file, skill_id)
}

/// One skill value as read, before selection by skill id.
struct SkillRow {
    worker: String,
    skill_id: Option<String>,
    value: f64,
    line: u64,
    /// 1-based column of the value (JSON: of the object).
    column: u64,
}

/// Toloka's UserSkill; other fields (`id`, `created`, `modified`) are ignored.
#[derive(Deserialize)]
struct UserSkill {
    user_id: Id,
    skill_id: Option<Id>,
    value: Option<f64>,
    exact_value: Option<f64>,
}

fn json_rows(bytes: &[u8], file: &Path) -> Result<Vec<SkillRow>, Error> {
    let mut rows = Vec::new();
    for_each_item(bytes, file, "user skill", |skill: UserSkill, pos| {
        let located = |message: String| at(file, pos.line, Some(pos.column), message);
        if skill.user_id.0.is_empty() {
            return Err(located("empty user_id".into()));
        }
        let value = skill
            .exact_value
            .or(skill.value)
            .ok_or_else(|| located("user skill has neither exact_value nor value".into()))?;
        rows.push(SkillRow {
            worker: skill.user_id.0,
            skill_id: skill.skill_id.map(|id| id.0),
            value,
            line: pos.line,
            column: pos.column,
        });
        Ok(())
    })?;
    Ok(rows)
}

fn table_rows(bytes: &[u8], file: &Path) -> Result<Vec<SkillRow>, Error> {
    let mut table = Table::open(bytes, file, delimiter_for(file), "skills")?;
    // Toloka layout when there is a user_id column, plain `worker,skill` otherwise.
    let (worker, skill_id, values) = match table.find("user_id")? {
        Some(user) => {
            let exact = table.find("exact_value")?;
            let value = table.find("value")?;
            if exact.is_none() && value.is_none() {
                return Err(table.missing(r#"column "value" or "exact_value""#, ""));
            }
            (user, table.find("skill_id")?, [exact, value])
        }
        None if table.find("worker")?.is_none() => {
            return Err(table.missing(
                r#"column "worker""#,
                "skills need columns worker,skill or user_id,skill_id,value; ",
            ));
        }
        None => (
            table.column("worker")?,
            None,
            [Some(table.column("skill")?), None],
        ),
    };
    let mut rows = Vec::new();
    let mut record = ByteRecord::new();
    while table.next(&mut record)? {
        let w = table.required(&record, worker)?;
        let id = match skill_id {
            Some(c) => Some(table.text(&record, c)?).filter(|s| !s.is_empty()),
            None => None,
        };
        // The first value column with a non-empty field (exact_value before value).
        let mut chosen = None;
        for column in values.into_iter().flatten() {
            if !table.text(&record, column)?.trim().is_empty() {
                chosen = Some(column);
                break;
            }
        }
        let column = match chosen {
            Some(c) => c,
            None => {
                let first = values.into_iter().flatten().next().unwrap_or(0);
                return Err(
                    table.error_at(Some(first), format!("empty skill value of worker {w:?}"))
                );
            }
        };
        let text = table.text(&record, column)?.trim();
        let value = match text.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            Ok(_) => {
                return Err(table.error_at(
                    Some(column),
                    format!("skill value {text:?} of worker {w:?} is not a finite number"),
                ));
            }
            Err(_) => {
                return Err(table.error_at(
                    Some(column),
                    format!("skill value {text:?} of worker {w:?} is not a number"),
                ));
            }
        };
        rows.push(SkillRow {
            worker: w.to_string(),
            skill_id: id.map(str::to_string),
            value,
            line: table.line(),
            column: column as u64 + 1,
        });
    }
    Ok(rows)
}

/// Keeps the rows of the chosen skill id and checks each worker has one value.
fn select(rows: Vec<SkillRow>, file: &Path, skill_id: Option<&str>) -> Result<Skills, Error> {
    if rows.is_empty() {
        return Err(whole(file, "no skills (the file has no rows)"));
    }
    let ids: BTreeSet<&str> = rows.iter().filter_map(|r| r.skill_id.as_deref()).collect();
    let list = || ids.iter().copied().collect::<Vec<_>>().join(", ");
    match skill_id {
        Some(wanted) if !ids.is_empty() && !ids.contains(wanted) => {
            return Err(whole(
                file,
                format!(
                    "no skills with skill id {wanted:?} (skill ids in the file: {})",
                    list()
                ),
            ));
        }
        None if ids.len() > 1 => {
            return Err(whole(
                file,
                format!("the file holds several skill ids ({}); choose one", list()),
            ));
        }
        _ => {}
    }
    let mut skills = Skills::new();
    skills.origin_mut().set_file(file);
    let mut lines: HashMap<&str, u64> = HashMap::new();
    for row in &rows {
        if let (Some(wanted), Some(id)) = (skill_id, row.skill_id.as_deref())
            && wanted != id
        {
            continue;
        }
        match skills.get(&row.worker) {
            Some(previous) if previous == row.value => {}
            Some(previous) => {
                let first = lines.get(row.worker.as_str()).copied().unwrap_or(0);
                return Err(at(
                    file,
                    row.line,
                    None,
                    format!(
                        "worker {:?} has two skill values: {previous} at line {first}, {} at line {}",
                        row.worker, row.value, row.line
                    ),
                ));
            }
            None => {
                skills.insert(row.worker.as_str(), row.value);
                lines.insert(&row.worker, row.line);
                let location = Location::new(file, row.line).with_column(row.column);
                skills
                    .origin_mut()
                    .set_location(row.worker.as_str(), location);
            }
        }
    }
    Ok(skills)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, name: &str, skill: Option<&str>) -> Result<Skills, String> {
        read_skills_from_bytes(text.as_bytes(), name, skill).map_err(|e| e.to_string())
    }

    #[test]
    fn plain_csv() {
        let skills = read("worker,skill\nw1,0.7\nw2,80\nw1,0.70\n", "s.csv", None).unwrap();
        assert_eq!(
            (skills.get("w1"), skills.get("w2")),
            (Some(0.7), Some(80.0))
        );
    }

    #[test]
    fn toloka_csv_prefers_exact_value_and_filters_by_skill() {
        let text = "user_id,skill_id,value,exact_value\nw1,s1,70,70.4\nw1,s2,10,\nw2,s1,80,\n";
        let skills = read(text, "s.csv", Some("s1")).unwrap();
        assert_eq!(
            (skills.get("w1"), skills.get("w2")),
            (Some(70.4), Some(80.0))
        );
        assert_eq!(
            read(text, "s.csv", None).unwrap_err(),
            "s.csv: the file holds several skill ids (s1, s2); choose one"
        );
        assert_eq!(
            read(text, "s.csv", Some("s9")).unwrap_err(),
            "s.csv: no skills with skill id \"s9\" (skill ids in the file: s1, s2)"
        );
    }

    #[test]
    fn json_array_and_lines() {
        let array = r#"[{"id":"us-1","skill_id":"501","user_id":"w1","value":70,"exact_value":70.5,"created":"x"},
 {"id":"us-2","skill_id":"501","user_id":"w2","value":80}]"#;
        let skills = read(array, "s.json", None).unwrap();
        assert_eq!(
            (skills.get("w1"), skills.get("w2")),
            (Some(70.5), Some(80.0))
        );
        let lines = "{\"skill_id\":\"501\",\"user_id\":\"w1\",\"value\":70}\n{\"skill_id\":\"501\",\"user_id\":\"w1\",\"value\":75}\n";
        assert_eq!(
            read(lines, "s.jsonl", None).unwrap_err(),
            "s.jsonl:2: worker \"w1\" has two skill values: 70 at line 1, 75 at line 2"
        );
    }

    #[test]
    fn bad_values_are_located() {
        for (text, name, message) in [
            (
                "worker,skill\nw1,0.5\nw2,NaN\n",
                "s.csv",
                "s.csv:3:2: skill value \"NaN\" of worker \"w2\" is not a finite number",
            ),
            (
                "worker,skill\nw1,high\n",
                "s.csv",
                "s.csv:2:2: skill value \"high\" of worker \"w1\" is not a number",
            ),
            (
                "[{\"user_id\":\"w1\",\"value\":\"70\"}]",
                "s.json",
                "s.json:1:29: invalid user skill: invalid type: string \"70\", expected f64",
            ),
            (
                "worker,score\nw1,1\n",
                "s.csv",
                "s.csv:1: missing column \"skill\" (header: worker, score)",
            ),
        ] {
            assert_eq!(read(text, name, None).unwrap_err(), message, "{text:?}");
        }
    }
}
