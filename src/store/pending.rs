//! The store's answer to a submitted job, as a named future: it resolves once the job is durably
//! committed or has failed, never earlier, and a writer that vanished counts as a failure.

use super::StoreError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::oneshot;

/// Where the writer sends the outcome of one job.
pub(crate) type Answer<T> = oneshot::Sender<Result<T, StoreError>>;

/// Awaits the outcome of one job submitted to the store.
#[derive(Debug)]
pub struct Pending<T>(oneshot::Receiver<Result<T, StoreError>>);

impl<T> Pending<T> {
    /// A job's answer slot and the future its submitter awaits.
    pub(crate) fn channel() -> (Answer<T>, Pending<T>) {
        let (answer, pending) = oneshot::channel();
        (answer, Pending(pending))
    }

    /// An outcome known at once (the store is closed, or the job could not be queued).
    pub fn ready(outcome: Result<T, StoreError>) -> Pending<T> {
        let (answer, pending) = Pending::channel();
        let _ = answer.send(outcome);
        pending
    }
}

impl<T> Future for Pending<T> {
    type Output = Result<T, StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|received| received.unwrap_or_else(|_| Err(StoreError::Failed("the writer dropped the job".into()))))
    }
}
