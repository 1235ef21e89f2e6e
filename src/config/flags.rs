//! Keys ↔ flags, read from clap's own definition of the command line.
//!
//! Every long flag `--some-name` of [`crate::server::Args`] is the key
//! `some_name`. Nothing here lists flags: the table comes from
//! `Args::command()`, so a flag added tomorrow has its key at once. What the
//! TOML value must look like follows from the flag's clap definition:
//!
//! | flag | TOML |
//! | --- | --- |
//! | a switch (`ArgAction::SetTrue`, `--verbose`) | `true` or `false` |
//! | repeatable (`ArgAction::Append`, `--listen`) | an array (or one value) |
//! | any other | one value |
//!
//! and each value is an integer when the flag's value parser yields an
//! integer type, a number for a float, and a string otherwise. A value is
//! turned back into `--some-name=VALUE` and checked by clap itself (the
//! flag's own value parser, possible values, ranges), so the file accepts
//! exactly what the command line accepts.

use std::any::TypeId;

use clap::{Arg, ArgAction, Command};
use toml::de::DeValue;

/// Arguments that are not settings: no key.
const NOT_KEYS: [&str; 3] = ["help", "version", super::CONFIG_ID];

/// What a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No value: `true` adds the flag, `false` leaves it out.
    Switch,
    One,
    /// Repeatable: one argument per array element.
    Many,
}

/// The TOML type of each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Integer,
    Float,
    Text,
}

impl Scalar {
    fn name(self) -> &'static str {
        match self {
            Scalar::Integer => "an integer",
            Scalar::Float => "a number",
            Scalar::Text => "a string",
        }
    }
}

/// One flag and its key.
#[derive(Debug, Clone)]
pub struct FlagKey {
    /// `sessions_max`.
    pub key: String,
    /// clap's id of the argument.
    pub id: String,
    /// `sessions-max`.
    pub long: String,
    pub shape: Shape,
    pub scalar: Scalar,
}

/// The key of a long flag name: dashes become underscores.
pub fn key_of(long: &str) -> String {
    long.replace('-', "_")
}

/// Every flag of `cmd` that is a setting, in definition order.
pub fn flag_keys(cmd: &Command) -> Vec<FlagKey> {
    cmd.get_arguments()
        // Hidden flags are test hooks, not settings.
        .filter(|a| !NOT_KEYS.contains(&a.get_id().as_str()) && !a.is_hide_set())
        .filter_map(|a| {
            let long = a.get_long()?;
            Some(FlagKey {
                key: key_of(long),
                id: a.get_id().to_string(),
                long: long.to_string(),
                shape: shape(a),
                scalar: scalar(a),
            })
        })
        .collect()
}

fn shape(a: &Arg) -> Shape {
    match a.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => Shape::Switch,
        ArgAction::Append => Shape::Many,
        _ => Shape::One,
    }
}

fn scalar(a: &Arg) -> Scalar {
    let t = a.get_value_parser().type_id();
    let integers = [
        TypeId::of::<u8>(),
        TypeId::of::<u16>(),
        TypeId::of::<u32>(),
        TypeId::of::<u64>(),
        TypeId::of::<usize>(),
        TypeId::of::<i8>(),
        TypeId::of::<i16>(),
        TypeId::of::<i32>(),
        TypeId::of::<i64>(),
        TypeId::of::<isize>(),
    ];
    if integers.iter().any(|i| t == *i) {
        Scalar::Integer
    } else if t == TypeId::of::<f64>() || t == TypeId::of::<f32>() {
        Scalar::Float
    } else {
        Scalar::Text
    }
}

impl FlagKey {
    /// The command-line arguments that say what `v` says (the reason, when
    /// `v` has the wrong type for this flag).
    pub fn to_args(&self, v: &DeValue<'_>) -> Result<Vec<String>, String> {
        let flag = |s: String| format!("--{}={s}", self.long);
        match (self.shape, v) {
            (Shape::Switch, DeValue::Boolean(true)) => Ok(vec![format!("--{}", self.long)]),
            (Shape::Switch, DeValue::Boolean(false)) => Ok(Vec::new()),
            (Shape::Switch, other) => Err(format!(
                "expected true or false, found {}",
                other.type_str()
            )),
            (Shape::Many, DeValue::Array(items)) if items.is_empty() => {
                Err("expected at least one value".to_string())
            }
            (Shape::Many, DeValue::Array(items)) => items
                .iter()
                .map(|i| self.text(i.get_ref()).map(flag))
                .collect(),
            (_, other) => self.text(other).map(|s| vec![flag(s)]),
        }
    }

    /// One value as the command line would spell it.
    fn text(&self, v: &DeValue<'_>) -> Result<String, String> {
        match (self.scalar, v) {
            (Scalar::Integer, DeValue::Integer(i)) => i128::from_str_radix(i.as_str(), i.radix())
                .map(|n| n.to_string())
                .map_err(|e| format!("bad integer: {e}")),
            (Scalar::Float, DeValue::Integer(i)) => Ok(i.as_str().to_string()),
            (Scalar::Float, DeValue::Float(f)) => Ok(f.as_str().to_string()),
            (Scalar::Text, DeValue::String(s)) => Ok(s.to_string()),
            (want, other) => Err(format!(
                "expected {}, found {}",
                want.name(),
                other.type_str()
            )),
        }
    }
}

/// Runs clap on `args` alone, so each key's values are checked by the flag's
/// own parser and a failure names this key only.
pub fn check_values(cmd: &Command, args: &[String]) -> Result<(), String> {
    let argv = std::iter::once(cmd.get_name().to_string()).chain(args.iter().cloned());
    match cmd.clone().try_get_matches_from(argv) {
        Ok(_) => Ok(()),
        Err(e) => Err(clap_reason(&e)),
    }
}

/// clap's first line without `error: `, and without the flag it names
/// (the caller names the key): `invalid value 'x': reason`, with the
/// possible values when clap lists them.
pub fn clap_reason(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid value");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "… for '--flag <F>'…": the flag's spelling ends at the next quote.
    let mut reason = match first.find(" for '--") {
        Some(a) => match first[a + 6..].find('\'') {
            Some(b) => format!("{}{}", &first[..a], &first[a + 6 + b + 1..]),
            None => first.to_string(),
        },
        None => first.to_string(),
    };
    if let Some(values) = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("[possible values:"))
    {
        reason.push(' ');
        reason.push_str(values);
    }
    reason
}
