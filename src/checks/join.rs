//! Runs several reads at once on the caller's task, without spawning (the backend is
//! borrowed): a small `join_all` so one check set costs about one round trip, not N.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Polls every future until all are done; results in input order.
pub(crate) async fn join_all<'a, T>(futs: Vec<Pin<Box<dyn Future<Output = T> + Send + 'a>>>) -> Vec<T> {
    let mut futs: Vec<Option<Pin<Box<dyn Future<Output = T> + Send + 'a>>>> = futs.into_iter().map(Some).collect();
    let mut out: Vec<Option<T>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, res) in futs.iter_mut().zip(out.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        *res = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    out.into_iter().map(|v| v.expect("every future finished")).collect()
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
}
