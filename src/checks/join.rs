//! Runs several reads at once on the caller's task, without spawning (the backend is
//! borrowed): the workflow's `join_all` so one check set costs about one round trip, not N, and
//! [`join_bounded`] for reads per node or per guest, at most `limit` at a time.

use std::future::Future;
use std::pin::Pin;

pub(crate) use crate::workflow::join_all;

/// As [`join_all`], with at most `limit` (at least 1) futures past their start at a time:
/// each waits for a permit of one semaphore first (the pattern of `workflow::run_many`).
pub(crate) async fn join_bounded<'a, T: Send>(futs: Vec<Pin<Box<dyn Future<Output = T> + Send + 'a>>>, limit: usize) -> Vec<T> {
    let permits = tokio::sync::Semaphore::new(limit.max(1));
    let permits = &permits;
    let gated: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>> = futs
        .into_iter()
        .map(|f| -> Pin<Box<dyn Future<Output = T> + Send + '_>> {
            Box::pin(async move {
                // The semaphore is never closed: `acquire` cannot fail.
                let _permit = permits.acquire().await.ok();
                f.await
            })
        })
        .collect();
    join_all(gated).await
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    #[tokio::test]
    async fn runs_together_and_keeps_order() {
        // Each future waits for all three at a barrier: run one after another, it never ends.
        let barrier = Arc::new(tokio::sync::Barrier::new(3));
        let futs: Vec<Pin<Box<dyn Future<Output = u64> + Send>>> = (1..=3u64)
            .map(|i| -> Pin<Box<dyn Future<Output = u64> + Send>> {
                let b = barrier.clone();
                Box::pin(async move {
                    b.wait().await;
                    i
                })
            })
            .collect();
        let out = tokio::time::timeout(std::time::Duration::from_secs(10), super::join_all(futs)).await.expect("concurrent");
        assert_eq!(out, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn bounded_runs_at_most_limit_at_once_and_keeps_order() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let futs: Vec<Pin<Box<dyn Future<Output = u64> + Send>>> = (1..=7u64)
            .map(|i| -> Pin<Box<dyn Future<Output = u64> + Send>> {
                let (running, peak) = (running.clone(), peak.clone());
                Box::pin(async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    for _ in 0..3 {
                        tokio::task::yield_now().await;
                    }
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        assert_eq!(super::join_bounded(futs, 3).await, (1..=7).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 3, "three at a time, and the bound was reached");
    }
}
