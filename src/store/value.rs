//! The values statements carry, on either engine: [`Param`]s bound to placeholders (`args![…]`),
//! [`Row`]s of owned [`Value`]s read back, each column converted by [`FromValue`] and read by its
//! name. Nothing here knows an engine or imports anything else of the store, so every layer above
//! (the engines, the connection, the resources) can use it.

use std::sync::Arc;

/// A column that could not be read as asked (a missing name, a wrong type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value bound to a statement's placeholder.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Null,
    Int(i64),
    Bool(bool),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// What can be bound as a [`Param`].
pub trait ToParam {
    fn param(&self) -> Param<'_>;
}

impl ToParam for i64 {
    fn param(&self) -> Param<'_> {
        Param::Int(*self)
    }
}
impl ToParam for bool {
    fn param(&self) -> Param<'_> {
        Param::Bool(*self)
    }
}
impl ToParam for str {
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}
impl ToParam for String {
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}
impl ToParam for [u8] {
    fn param(&self) -> Param<'_> {
        Param::Blob(self)
    }
}
impl ToParam for Vec<u8> {
    fn param(&self) -> Param<'_> {
        Param::Blob(self)
    }
}
impl ToParam for Param<'_> {
    fn param(&self) -> Param<'_> {
        *self
    }
}
impl<T: ToParam + ?Sized> ToParam for &T {
    fn param(&self) -> Param<'_> {
        (**self).param()
    }
}
impl<T: ToParam> ToParam for Option<T> {
    fn param(&self) -> Param<'_> {
        self.as_ref().map_or(Param::Null, ToParam::param)
    }
}

/// The parameters of one statement: `args![a, b, c]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::value::ToParam::param(&$value)),*][..]
    };
}
pub(crate) use args;

/// A column's value as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// One result row: its values in column order, and the columns' names.
#[derive(Debug, Clone)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

/// A Rust type a column converts to.
pub trait FromValue: Sized {
    fn from_value(value: Value) -> Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Int(v) => Ok(v),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}
impl FromValue for bool {
    fn from_value(value: Value) -> Result<Self, String> {
        i64::from_value(value).map(|v| v != 0)
    }
}
impl FromValue for String {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Text(v) => Ok(v),
            Value::Blob(v) => String::from_utf8(v).map_err(|e| e.to_string()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Blob(v) => Ok(v),
            Value::Text(v) => Ok(v.into_bytes()),
            other => Err(format!("expected bytes, found {other:?}")),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}
/// A JSON column (stored as text): its value, or null when absent or unreadable.
impl FromValue for serde_json::Value {
    fn from_value(value: Value) -> Result<Self, String> {
        Ok(Option::<String>::from_value(value)?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null))
    }
}

impl Row {
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Row {
        Row { columns, values }
    }

    /// The value of column `index` (from 0): for statements whose one column has no name to
    /// speak of (`SELECT count(*)`, `RETURNING id`). Rows of the resources are read by name.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, ValueError> {
        let value = self.values.get(index).cloned().unwrap_or(Value::Null);
        T::from_value(value).map_err(|e| ValueError(format!("column {index}: {e}")))
    }

    /// The value of the column named `name`.
    pub fn named<T: FromValue>(&self, name: &str) -> Result<T, ValueError> {
        let index = self
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| ValueError(format!("no column `{name}`")))?;
        T::from_value(self.values[index].clone()).map_err(|e| ValueError(format!("column {name}: {e}")))
    }
}
