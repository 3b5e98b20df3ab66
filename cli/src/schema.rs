//! `trail schema`: the stream's columns and their types, the keys that changed type (and
//! in which segments), and read statements for DuckDB, Spark and polars that declare every
//! column, so that nothing downstream is inferred.

use std::fmt::Write as _;
use std::path::Path;

use trail::schema::{Column, Sources, StreamSchema};

use crate::{warn, Fatal};

/// What `trail schema` prints.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SchemaOutput {
    /// The columns, the conflicts and every read statement, for people.
    Text,
    /// The schema as one JSON document.
    Json,
    /// A DuckDB query.
    Duckdb,
    /// A Spark DDL schema string.
    Spark,
    /// A polars schema (Python).
    Polars,
}

pub fn run(path: &Path, output: SchemaOutput) -> Result<u8, Fatal> {
    let mut damaged = 0u64;
    let (schema, sources) = trail::schema::scan(path, |e| {
        damaged += 1;
        warn(e);
    })?;
    let text = match output {
        SchemaOutput::Json => json(&schema, &sources),
        SchemaOutput::Duckdb => format!("{};\n", duckdb(&schema, &read_target(path)?)),
        SchemaOutput::Spark => format!("{}\n", schema.spark_ddl()),
        SchemaOutput::Polars => format!("{}\n", schema.polars_schema()),
        SchemaOutput::Text => match read_target(path) {
            Ok(target) => text(&schema, &sources, Some(&target)),
            Err(Fatal(_, why)) => {
                warn(why);
                text(&schema, &sources, None)
            }
        },
    };
    let mut out = text.into_bytes();
    crate::emit(&mut out)?;
    crate::flush_stdout()?;
    Ok(u8::from(damaged > 0))
}

/// What the statements read: the file itself, or a glob over the stream's segments, and
/// whether they are CSV.
struct Target {
    glob: String,
    csv: bool,
}

fn read_target(path: &Path) -> Result<Target, Fatal> {
    let reader = trail::read::open(path)?;
    let first = reader.files().next().map(Path::to_owned);
    let Some(first) = first else {
        return Err(Fatal(2, format!("{}: no segments", path.display())));
    };
    let name = first
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = name.strip_suffix(".gz").unwrap_or(&name);
    let extension = base.rsplit_once('.').map_or("", |(_, e)| e);
    let csv = extension == "csv";
    if extension != "jsonl" && !csv {
        return Err(Fatal(
            2,
            format!(
                "{}: engines read JSON lines and CSV segments; convert .{extension} segments first \
                 (trail convert --to json, or --to parquet)",
                first.display()
            ),
        ));
    }
    if !path.is_dir() {
        return Ok(Target {
            glob: path.display().to_string(),
            csv,
        });
    }
    let stream = reader
        .stream()
        .unwrap_or_else(|| base.split_once('.').map_or(base, |(s, _)| s));
    // `*` also matches `.gz`: the engines decompress by extension.
    let glob = path.join(format!("{stream}.*.{extension}*"));
    Ok(Target {
        glob: glob.display().to_string(),
        csv,
    })
}

fn duckdb(schema: &StreamSchema, target: &Target) -> String {
    if target.csv {
        schema.duckdb_csv(&target.glob)
    } else {
        schema.duckdb_json(&target.glob)
    }
}

fn json(schema: &StreamSchema, sources: &Sources) -> String {
    fn column(c: &Column) -> serde_json::Value {
        let kinds: serde_json::Map<String, serde_json::Value> = c
            .kinds
            .iter()
            .map(|(k, files)| {
                let kind = serde_json::to_value(k).unwrap_or_default();
                (
                    kind.as_str().unwrap_or_default().to_owned(),
                    serde_json::json!(files),
                )
            })
            .collect();
        serde_json::json!({
            "type": c.resolve().duckdb(),
            "spark_type": c.resolve().spark(),
            "conflict": c.is_conflict(),
            "kinds": kinds,
        })
    }
    let fields: serde_json::Map<String, serde_json::Value> = schema
        .fields
        .iter()
        .map(|(k, c)| (k.clone(), column(c)))
        .collect();
    let doc = serde_json::json!({
        "actor": column(&schema.actor),
        "fields": fields,
        "segments_from_manifest": sources.from_manifest,
        "segments_from_records": sources.from_records,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
}

/// The columns and conflicts, then the read statements when the segments are in a format
/// the engines read.
fn text(schema: &StreamSchema, sources: &Sources, target: Option<&Target>) -> String {
    let mut out = String::new();
    let segments = sources.from_manifest.len() + sources.from_records.len();
    let _ = writeln!(
        out,
        "{segments} segments ({} summarised in the manifest, {} read)\n",
        sources.from_manifest.len(),
        sources.from_records.len()
    );
    let _ = writeln!(out, "columns:");
    let _ = writeln!(out, "  actor  {}", schema.actor.resolve().duckdb());
    for (key, column) in &schema.fields {
        let _ = writeln!(out, "  fields.{key}  {}", column.resolve().duckdb());
    }
    let conflicts = schema.conflicts();
    if !conflicts.is_empty() {
        let _ = writeln!(out, "\nconflicts (resolved as above, no value lost):");
        for (name, column) in conflicts {
            let _ = writeln!(out, "  {name}:");
            for (kind, files) in &column.kinds {
                let list: Vec<&str> = files.iter().map(String::as_str).collect();
                let kind = serde_json::to_value(kind).unwrap_or_default();
                let kind = kind.as_str().unwrap_or_default();
                let _ = writeln!(out, "    {kind} in {}", list.join(", "));
            }
        }
    }
    let Some(target) = target else {
        return out;
    };
    let _ = writeln!(out, "\nDuckDB:\n  {};", duckdb(schema, target));
    let _ = writeln!(
        out,
        "\nSpark (JSON lines; ts parsed with to_timestamp afterwards):\n  spark.read.schema(\"{}\").json(\"{}\")",
        schema.spark_ddl(),
        target.glob
    );
    let _ = writeln!(
        out,
        "\npolars (JSON lines):\n  pl.read_ndjson(\"{}\", schema={}).with_columns(pl.col(\"ts\").str.to_datetime(time_unit=\"ns\", time_zone=\"UTC\"))",
        target.glob,
        schema.polars_schema()
    );
    out
}
