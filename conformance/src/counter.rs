//! A count that server threads change and async tests wait on, so that a
//! test waits for what it needs to see instead of polling on a timer.

use std::future::Future;
use std::sync::Mutex;
use std::task::{Poll, Waker};

/// A number shared between threads that async code can await.
#[derive(Debug, Default)]
pub struct Counter {
    /// The count and the tasks waiting for it to change, under one lock so
    /// that no change goes unseen between a check and a wait.
    state: Mutex<(usize, Vec<Waker>)>,
}

impl Counter {
    /// A counter at `value`.
    pub fn new(value: usize) -> Counter {
        Counter {
            state: Mutex::new((value, Vec::new())),
        }
    }

    /// The count now.
    pub fn get(&self) -> usize {
        self.lock().0
    }

    /// Adds `n`; returns the new count.
    pub fn add(&self, n: usize) -> usize {
        self.change(|v| v.saturating_add(n))
    }

    /// Takes `n` away (not below zero); returns the new count.
    pub fn sub(&self, n: usize) -> usize {
        self.change(|v| v.saturating_sub(n))
    }

    /// Completes with the count once `ready` holds for it (at once if it
    /// already does).
    pub fn until<'a>(
        &'a self,
        ready: impl Fn(usize) -> bool + 'a,
    ) -> impl Future<Output = usize> + 'a {
        std::future::poll_fn(move |cx| {
            let mut state = self.lock();
            if ready(state.0) {
                return Poll::Ready(state.0);
            }
            if !state.1.iter().any(|w| w.will_wake(cx.waker())) {
                state.1.push(cx.waker().clone());
            }
            Poll::Pending
        })
    }

    /// Completes once the count is at least `n`.
    pub fn reaches(&self, n: usize) -> impl Future<Output = usize> + '_ {
        self.until(move |v| v >= n)
    }

    fn change(&self, f: impl FnOnce(usize) -> usize) -> usize {
        let (value, waiting) = {
            let mut state = self.lock();
            state.0 = f(state.0);
            (state.0, std::mem::take(&mut state.1))
        };
        // Woken outside the lock: a waker may poll at once.
        for waker in waiting {
            waker.wake();
        }
        value
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, Vec<Waker>)> {
        // A panic elsewhere leaves a plain number behind: still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake};

    /// Counts its wakes.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_waiter_is_woken_by_the_change_it_waits_for() {
        let counter = Counter::new(1);
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut three = pin!(counter.reaches(3));
        assert_eq!(three.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(counter.add(1), 2);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "woken to look again");
        assert_eq!(three.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(counter.add(1), 3);
        assert_eq!(three.as_mut().poll(&mut cx), Poll::Ready(3));
        assert_eq!(counter.sub(5), 0, "never below zero");
        assert_eq!(
            pin!(counter.until(|v| v == 0)).poll(&mut cx),
            Poll::Ready(0),
            "ready at once when it already holds"
        );
    }
}
