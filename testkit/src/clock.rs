//! Virtual time for driver tests: a runtime whose clock stands still until
//! the test moves it, so that a timeout test waits for events, not for a
//! machine to be fast enough.
//!
//! [`VirtualTime`] wraps a real runtime: tasks and TCP stay real, only
//! `now` and `sleep_until` are virtual. A test waits until the client has
//! set its timer ([`VirtualTime::sleeping_until`]), moves the clock past it
//! ([`VirtualTime::advance`]) and checks what the client did.

use ari_client::{BoxFuture, Executor, Runtime};
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The runtime `R` with a virtual clock: `spawn` and `connect` are `R`'s,
/// `now` and `sleep_until` follow a clock that moves only by
/// [`advance`](Self::advance) or [`advance_to`](Self::advance_to). Clones
/// share the clock.
#[derive(Clone, Debug)]
pub struct VirtualTime<R> {
    runtime: R,
    clock: Arc<Clock>,
}

#[derive(Debug)]
struct Clock(Mutex<State>);

#[derive(Debug)]
struct State {
    now: Instant,
    next_id: u64,
    /// Sleeps not yet due, by deadline then creation; the waker of the
    /// task that last polled each.
    sleepers: BTreeMap<(Instant, u64), Option<Waker>>,
    /// Tasks in `sleeping_until`, woken when a sleep starts.
    watchers: Vec<Waker>,
}

impl<R> VirtualTime<R> {
    /// `runtime` with a virtual clock starting at the real time now.
    pub fn new(runtime: R) -> Self {
        VirtualTime {
            runtime,
            clock: Arc::new(Clock(Mutex::new(State {
                now: Instant::now(),
                next_id: 0,
                sleepers: BTreeMap::new(),
                watchers: Vec::new(),
            }))),
        }
    }

    /// The real runtime, e.g. for a timer that bounds a test in real time.
    pub fn runtime(&self) -> &R {
        &self.runtime
    }

    /// Moves the clock `by` forward and wakes every sleep that is due.
    pub fn advance(&self, by: Duration) {
        let to = self.lock().now + by;
        self.advance_to(to);
    }

    /// Moves the clock forward to `to` (never back) and wakes every sleep
    /// due by then, earliest deadline first.
    pub fn advance_to(&self, to: Instant) {
        let due = {
            let mut state = self.lock();
            let now = state.now.max(to);
            state.now = now;
            let later = state.sleepers.split_off(&(now, u64::MAX));
            std::mem::replace(&mut state.sleepers, later)
        };
        // Woken outside the lock: a waker may poll at once, on any thread.
        for waker in due.into_values().flatten() {
            waker.wake();
        }
    }

    /// Sleeps started and not yet due (nor dropped).
    pub fn sleepers(&self) -> usize {
        self.lock().sleepers.len()
    }

    /// The earliest deadline of those sleeps.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.lock().sleepers.keys().next().map(|(t, _)| *t)
    }

    /// Completes once something sleeps until `by` or earlier (at once if
    /// something already does), with the earliest deadline slept until.
    /// Sleeps that are due do not count: after an advance this waits for
    /// a new one, e.g. the timer a client sets next.
    pub fn sleeping_until(&self, by: Instant) -> impl Future<Output = Instant> + '_ {
        std::future::poll_fn(move |cx| {
            let mut state = self.lock();
            match state.sleepers.keys().next() {
                Some(&(first, _)) if first <= by => Poll::Ready(first),
                _ => {
                    if !state.watchers.iter().any(|w| w.will_wake(cx.waker())) {
                        state.watchers.push(cx.waker().clone());
                    }
                    Poll::Pending
                }
            }
        })
    }

    /// A future that completes once the clock reaches `deadline`.
    fn sleep(&self, deadline: Instant) -> Sleep {
        let (key, watchers) = {
            let mut state = self.lock();
            if deadline <= state.now {
                (None, Vec::new())
            } else {
                state.next_id += 1;
                let key = (deadline, state.next_id);
                state.sleepers.insert(key, None);
                (Some(key), std::mem::take(&mut state.watchers))
            }
        };
        for waker in watchers {
            waker.wake();
        }
        Sleep {
            clock: self.clock.clone(),
            deadline,
            key,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.clock.lock()
    }
}

impl Clock {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent at every step: a panic elsewhere
        // leaves it usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A sleep on the virtual clock; registered from creation, so that a test
/// sees a timer as soon as it is set.
struct Sleep {
    clock: Arc<Clock>,
    deadline: Instant,
    /// Its place among the sleepers while it may still be there.
    key: Option<(Instant, u64)>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut state = this.clock.lock();
        if state.now >= this.deadline {
            if let Some(key) = this.key.take() {
                state.sleepers.remove(&key);
            }
            return Poll::Ready(());
        }
        if let Some(slot) = this.key.and_then(|k| state.sleepers.get_mut(&k)) {
            match slot {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.clock.lock().sleepers.remove(&key);
        }
    }
}

impl<R: Executor> Executor for VirtualTime<R> {
    fn spawn(&self, future: BoxFuture<()>) {
        self.runtime.spawn(future);
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        Box::pin(self.sleep(deadline))
    }

    fn now(&self) -> Instant {
        self.lock().now
    }
}

impl<R: Runtime> Runtime for VirtualTime<R> {
    type Tcp = R::Tcp;
    type Listener = R::Listener;

    fn connect(&self, host: String, port: u16) -> BoxFuture<io::Result<R::Tcp>> {
        self.runtime.connect(host, port)
    }

    fn listen(&self, address: std::net::SocketAddr) -> io::Result<R::Listener> {
        self.runtime.listen(address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::task::Wake;

    /// A runtime for the clock alone: nothing to spawn, nowhere to connect.
    #[derive(Clone)]
    struct NoRuntime;

    impl Executor for NoRuntime {
        fn spawn(&self, _: BoxFuture<()>) {
            unreachable!("these tests spawn nothing")
        }

        fn sleep_until(&self, _: Instant) -> BoxFuture<()> {
            unreachable!("only the virtual clock sleeps here")
        }
    }

    /// Notes its name in a shared log when woken.
    struct Named(&'static str, Arc<Mutex<Vec<&'static str>>>);

    impl Wake for Named {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    fn waker(name: &'static str, log: &Arc<Mutex<Vec<&'static str>>>) -> Waker {
        Waker::from(Arc::new(Named(name, log.clone())))
    }

    fn poll(f: &mut BoxFuture<()>, waker: &Waker) -> Poll<()> {
        f.as_mut().poll(&mut Context::from_waker(waker))
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_clock_moves_only_when_told_and_clones_share_it() {
        let time = VirtualTime::new(NoRuntime);
        let start = time.now();
        let other = time.clone();
        assert_eq!(time.now(), start);
        other.advance(5 * MS);
        assert_eq!(time.now(), start + 5 * MS);
        time.advance_to(start + 2 * MS);
        assert_eq!(time.now(), start + 5 * MS, "never back");
    }

    #[test]
    fn sleepers_wake_in_deadline_order_once_due() {
        let time = VirtualTime::new(NoRuntime);
        let start = time.now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut sleeps = [("30", 30), ("10", 10), ("20", 20)]
            .map(|(name, ms)| (time.sleep_until(start + ms * MS), waker(name, &log)));
        for (sleep, waker) in &mut sleeps {
            assert_eq!(poll(sleep, waker), Poll::Pending);
        }
        assert_eq!(time.sleepers(), 3);
        assert_eq!(time.next_deadline(), Some(start + 10 * MS));

        time.advance(9 * MS);
        assert!(log.lock().unwrap().is_empty(), "nothing due yet");
        time.advance(11 * MS);
        assert_eq!(*log.lock().unwrap(), ["10", "20"]);
        assert_eq!(time.sleepers(), 1);
        assert_eq!(time.next_deadline(), Some(start + 30 * MS));
        let [(thirty, w30), (ten, w10), (twenty, w20)] = &mut sleeps;
        assert_eq!(poll(ten, w10), Poll::Ready(()));
        assert_eq!(poll(twenty, w20), Poll::Ready(()));
        assert_eq!(poll(thirty, w30), Poll::Pending);
    }

    #[test]
    fn a_sleep_for_a_past_deadline_is_ready_at_once() {
        let time = VirtualTime::new(NoRuntime);
        time.advance(10 * MS);
        let mut past = time.sleep_until(time.now() - 5 * MS);
        let mut now = time.sleep_until(time.now());
        assert_eq!(time.sleepers(), 0, "nothing to wait for");
        assert_eq!(poll(&mut past, Waker::noop()), Poll::Ready(()));
        assert_eq!(poll(&mut now, Waker::noop()), Poll::Ready(()));
    }

    #[test]
    fn a_sleep_polled_only_after_its_deadline_is_ready() {
        let time = VirtualTime::new(NoRuntime);
        let mut sleep = time.sleep_until(time.now() + MS);
        assert_eq!(time.sleepers(), 1, "counted from when it is set");
        time.advance(MS);
        assert_eq!(time.sleepers(), 0);
        assert_eq!(poll(&mut sleep, Waker::noop()), Poll::Ready(()));
    }

    #[test]
    fn dropping_a_sleep_unregisters_it() {
        let time = VirtualTime::new(NoRuntime);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut sleep = time.sleep_until(time.now() + MS);
        assert_eq!(poll(&mut sleep, &waker("dropped", &log)), Poll::Pending);
        drop(sleep);
        assert_eq!(time.sleepers(), 0);
        assert_eq!(time.next_deadline(), None);
        time.advance(MS);
        assert!(
            log.lock().unwrap().is_empty(),
            "a dropped sleep is not woken"
        );
    }

    #[test]
    fn the_latest_poll_decides_who_is_woken() {
        let time = VirtualTime::new(NoRuntime);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut sleep = time.sleep_until(time.now() + MS);
        assert_eq!(poll(&mut sleep, &waker("first", &log)), Poll::Pending);
        assert_eq!(poll(&mut sleep, &waker("moved", &log)), Poll::Pending);
        time.advance(MS);
        assert_eq!(*log.lock().unwrap(), ["moved"]);
    }

    #[test]
    fn sleeping_until_waits_for_a_timer_set_by_then() {
        let time = VirtualTime::new(NoRuntime);
        let start = time.now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let watcher = waker("watcher", &log);
        let mut cx = Context::from_waker(&watcher);
        let mut by_10 = pin!(time.sleeping_until(start + 10 * MS));
        assert_eq!(by_10.as_mut().poll(&mut cx), Poll::Pending);

        let late = time.sleep_until(start + 20 * MS);
        assert_eq!(*log.lock().unwrap(), ["watcher"], "woken to look again");
        assert_eq!(by_10.as_mut().poll(&mut cx), Poll::Pending, "too late");
        let soon = time.sleep_until(start + 10 * MS);
        assert_eq!(by_10.as_mut().poll(&mut cx), Poll::Ready(start + 10 * MS));

        // Once due, a sleep no longer counts: the next timer is awaited.
        time.advance(10 * MS);
        let mut by_25 = pin!(time.sleeping_until(start + 25 * MS));
        assert_eq!(by_25.as_mut().poll(&mut cx), Poll::Ready(start + 20 * MS));
        drop((late, soon));
        let mut by_25 = pin!(time.sleeping_until(start + 25 * MS));
        assert_eq!(by_25.as_mut().poll(&mut cx), Poll::Pending);
    }

    #[test]
    fn the_clock_is_shared_across_threads() {
        fn send_sync<T: Send + Sync + 'static>(_: &T) {}
        let time = VirtualTime::new(NoRuntime);
        send_sync(&time);
        let mut sleep = time.sleep_until(time.now() + MS);
        let log = Arc::new(Mutex::new(Vec::new()));
        assert_eq!(poll(&mut sleep, &waker("sleeper", &log)), Poll::Pending);
        let other = time.clone();
        std::thread::spawn(move || other.advance(MS))
            .join()
            .unwrap();
        assert_eq!(*log.lock().unwrap(), ["sleeper"]);
        assert_eq!(poll(&mut sleep, Waker::noop()), Poll::Ready(()));
    }
}
