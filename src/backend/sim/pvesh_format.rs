//! pvesh's output formats besides `json`: `json-pretty` (Perl JSON pretty style) and `text`
//! tables (pve-common `CLIFormatter.pm`, FORMATS.md §5.2-§5.3).
//!
//! The text table is an approximation: real pvesh picks columns from the method's return
//! schema, which the simulator does not carry, so it prints every key (sorted), as pvesh
//! does for methods whose schema lists no properties. Scripts should use `json`.

use std::fmt::Write as _;

use serde_json::Value;

/// Perl `JSON->pretty->canonical` text: 3-space indent, `"key" : value`, keys sorted; no
/// trailing newline.
pub(crate) fn json_pretty(v: &Value) -> String {
    let mut out = String::new();
    pretty(&mut out, v, 0);
    out
}

fn pretty(out: &mut String, v: &Value, depth: usize) {
    let pad = |d: usize| "   ".repeat(d);
    match v {
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                pretty(out, item, depth + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        Value::Object(m) if !m.is_empty() => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push_str("{\n");
            for (i, k) in keys.iter().enumerate() {
                let _ = write!(out, "{}{} : ", pad(depth + 1), Value::String((*k).clone()));
                pretty(out, &m[*k], depth + 1);
                out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// One cell's text: strings raw, numbers as JSON, nested values as compact JSON.
fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The `text` format: a scalar as its text, an array of scalars one per line, an object as
/// a `key`/`value` table, an array of objects as a table of all keys sorted, rows sorted by
/// the first column. UTF-8 borders unless `noborder`.
pub(crate) fn text_table(v: &Value, noborder: bool, noheader: bool) -> String {
    let (header, rows): (Vec<String>, Vec<Vec<Value>>) = match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            (vec!["key".into(), "value".into()], keys.into_iter().map(|k| vec![Value::String(k.clone()), m[k].clone()]).collect())
        }
        Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
            let mut cols: Vec<String> = items.iter().flat_map(|i| i.as_object().into_iter().flat_map(|m| m.keys().cloned())).collect();
            cols.sort();
            cols.dedup();
            let mut rows: Vec<Vec<Value>> =
                items.iter().map(|i| cols.iter().map(|c| i.get(c).cloned().unwrap_or(Value::Null)).collect()).collect();
            rows.sort_by(|a, b| match (&a[0], &b[0]) {
                (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(std::cmp::Ordering::Equal),
                (x, y) => cell(x).cmp(&cell(y)),
            });
            (cols, rows)
        }
        Value::Array(items) => {
            return items.iter().fold(String::new(), |mut out, i| {
                let _ = writeln!(out, "{}", cell(i));
                out
            });
        }
        other => return format!("{}\n", cell(other)),
    };
    render(&header, &rows, noborder, noheader)
}

fn render(header: &[String], rows: &[Vec<Value>], noborder: bool, noheader: bool) -> String {
    let texts: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            let body = texts.iter().flat_map(|r| r[c].lines().map(|l| l.chars().count())).max().unwrap_or(0);
            body.max(if noheader { 0 } else { header[c].chars().count() })
        })
        .collect();
    let mut out = String::new();
    let line = |l: &str, m: &str, r: &str, fill: &str| {
        format!("{l}{}{r}\n", widths.iter().map(|w| fill.repeat(w + 2)).collect::<Vec<_>>().join(m))
    };
    let print_row = |out: &mut String, cells: &[String], numeric: &[bool]| {
        let height = cells.iter().map(|c| c.lines().count().max(1)).max().unwrap_or(1);
        for i in 0..height {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(c, t)| {
                    let s = t.lines().nth(i).unwrap_or("");
                    let w = widths[c];
                    if numeric[c] { format!("{s:>w$}") } else { format!("{s:<w$}") }
                })
                .collect();
            if noborder {
                let _ = writeln!(out, "{}", parts.join(" ").trim_end());
            } else {
                let _ = writeln!(out, "│ {} │", parts.join(" │ "));
            }
        }
    };
    if !noborder {
        out.push_str(&line("┌", "┬", "┐", "─"));
    }
    if !noheader {
        print_row(&mut out, header, &vec![false; header.len()]);
        if !noborder {
            out.push_str(&line("╞", "╪", "╡", "═"));
        }
    }
    for (i, (r, t)) in rows.iter().zip(&texts).enumerate() {
        let numeric: Vec<bool> = r.iter().map(Value::is_number).collect();
        print_row(&mut out, t, &numeric);
        if !noborder && i + 1 < rows.len() {
            out.push_str(&line("├", "┼", "┤", "─"));
        }
    }
    if !noborder {
        out.push_str(&line("└", "┴", "┘", "─"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_is_perl_style() {
        let v = json!({"b": [1, {}], "a": "x"});
        assert_eq!(json_pretty(&v), "{\n   \"a\" : \"x\",\n   \"b\" : [\n      1,\n      {}\n   ]\n}");
    }

    #[test]
    fn object_table_like_the_sample() {
        // Layout of samples/pvesh-text-table/1.txt.
        let v = json!({"api": "ovh", "type": "dns"});
        assert_eq!(
            text_table(&v, false, false),
            "┌──────┬───────┐\n│ key  │ value │\n╞══════╪═══════╡\n│ api  │ ovh   │\n├──────┼───────┤\n│ type │ dns   │\n└──────┴───────┘\n"
        );
        assert_eq!(text_table(&json!("UPID:x"), false, false), "UPID:x\n");
    }
}
