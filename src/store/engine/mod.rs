//! The two engines as a statement reaches them: SQLite's connection (answers at once, on the
//! calling thread) and PostgreSQL's client (over the network). Each binds [`super::value::Param`]s,
//! reads [`super::value::Row`]s and sorts its failures into [`super::StoreError`]s; neither knows
//! anything of mail. [`super::sql::Conn`] chooses between them.

pub mod postgres;
pub mod sqlite;
