//! Why a piece of storage work failed, sorted the way the SMTP side answers it.

use super::value::ValueError;

/// Why a commit failed. Every variant means "nothing of this delivery was stored".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The disk or the configured size cap is full: 452 4.3.1.
    Full(String),
    /// Any other failure (locked, I/O error, writer gone): 451 4.3.0.
    Failed(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Full(why) => write!(f, "storage full: {why}"),
            StoreError::Failed(why) => write!(f, "storage failed: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full(e.to_string()),
            _ => StoreError::Failed(e.to_string()),
        }
    }
}

impl From<ValueError> for StoreError {
    fn from(e: ValueError) -> Self {
        StoreError::Failed(e.0)
    }
}
