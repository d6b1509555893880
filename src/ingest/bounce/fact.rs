//! What the reason rules read of one failed recipient: its status, diagnostic text, command and
//! reply, normalized once.

use crate::mail::Reason;

/// One recipient's failure as the reason tables match it.
pub(super) struct Fact {
    pub(super) status: String,
    /// Lower-cased, whitespace-collapsed diagnostic text.
    pub(super) diag: String,
    pub(super) spec: String,
    pub(super) action: String,
    pub(super) command: String,
    pub(super) reply: String,
    /// Reason preset by the format, if any.
    pub(super) reason: Option<Reason>,
}
