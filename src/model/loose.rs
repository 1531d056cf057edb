//! PVE's loose JSON, accepted in one place.
//!
//! Perl's JSON encoder emits a number as a string when Perl last used it as one
//! (`"vmid":"106"`, `"maxdisk":"1000"`), booleans as `0`/`1` (sometimes `true`/`false`,
//! sometimes `""` on PVE 4.x), and leaves fields out when they are unset
//! (FORMATS.md §5.2, §8). Every typed field that comes from PVE goes through these
//! helpers, used as `#[serde(default, deserialize_with = "...")]`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Reads a JSON value as `f64`: numbers, numeric strings; `null`, `""` and absent give `None`.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(value_f64))
}

/// Reads a JSON value as `u64`: integers, floats (truncated), numeric strings; else `None`.
pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(value_u64))
}

/// Reads a PVE boolean: `1`/`0`, `true`/`false`, `"1"`/`"0"`; `null`, `""` and absent give `false`.
pub fn bool01<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().is_some_and(value_bool))
}

/// Reads a PVE boolean keeping "absent" apart: `None` when absent or `null`, else as
/// [`bool01`] (`protected` of a backup is absent, not 0, when unset).
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().map(value_bool))
}

/// Reads a string that PVE may send as a number; `null` and `""` give `None`.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(value_string).filter(|s| !s.is_empty()))
}

/// `f64` view of a loose JSON value (see module docs).
pub fn value_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// `u64` view of a loose JSON value; negative or non-numeric values give `None`.
pub fn value_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| {
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "checked non-negative and finite; PVE sizes fit u64"
                )]
                let u = f as u64;
                u
            })
        }),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<u64>().ok().or_else(|| value_u64(&Value::from(s.parse::<f64>().ok()?)))
        }
        Value::Bool(b) => Some(u64::from(*b)),
        _ => None,
    }
}

/// Boolean view of a loose JSON value: non-zero numbers, `true`, `"1"`/`"true"`.
pub fn value_bool(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(s.trim(), "1" | "true" | "yes" | "on"),
        _ => false,
    }
}

/// String view of a loose JSON value: strings as they are, numbers and booleans printed.
pub fn value_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1".into() } else { "0".into() }),
        _ => None,
    }
}

/// Whether a flag's text is set, in every form PVE or a tool prints it: `1`, `1.0`, `true`,
/// `yes`, `on` (any case, blanks ignored); `0`, `false`, empty and anything else is unset.
pub fn truthy(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    matches!(v.as_str(), "true" | "yes" | "on") || v.parse::<f64>().is_ok_and(|n| n != 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_as_strings_and_booleans_as_ints() {
        assert_eq!(value_u64(&json!("106")), Some(106));
        assert_eq!(value_u64(&json!(2.5e9)), Some(2_500_000_000));
        assert_eq!(value_u64(&json!(-1)), None);
        assert_eq!(value_f64(&json!("0.25")), Some(0.25));
        assert!(value_bool(&json!(1)));
        assert!(!value_bool(&json!("")));
        assert!(value_bool(&json!(true)));
        assert_eq!(value_string(&json!(7)).as_deref(), Some("7"));
    }
}
