//! A deterministic single-threaded executor and a virtual clock.
//!
//! Tasks run in the order they become ready (first in, first out), and time moves only
//! when every task is waiting: then the clock jumps to the earliest timer. With the same
//! seed, a simulation therefore makes exactly the same steps.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    task::Context,
};

use futures::{
    channel::oneshot,
    future::BoxFuture,
    task::{waker_ref, ArcWake},
    FutureExt,
};
use parking_lot::Mutex;
use skein_base::{TimeDelta, Timestamp};

use crate::clock::{Clock, Sleep};

struct Task {
    future: Mutex<Option<BoxFuture<'static, ()>>>,
    queue: Arc<Mutex<VecDeque<Arc<Task>>>>,
}

impl ArcWake for Task {
    fn wake_by_ref(task: &Arc<Self>) {
        task.queue.lock().push_back(task.clone());
    }
}

/// Runs spawned tasks one at a time, in a fixed order.
#[derive(Clone, Default)]
pub struct Executor {
    ready: Arc<Mutex<VecDeque<Arc<Task>>>>,
    live: Arc<AtomicU64>,
    /// Every task spawned, for [`Executor::shutdown`].
    spawned: Arc<Mutex<Vec<std::sync::Weak<Task>>>>,
}

impl Executor {
    /// Adds a task; it runs at the next [`Executor::run_until_stalled`].
    pub fn spawn(&self, future: BoxFuture<'static, ()>) {
        let live = self.live.clone();
        live.fetch_add(1, Ordering::SeqCst);
        let future = async move {
            future.await;
            live.fetch_sub(1, Ordering::SeqCst);
        }
        .boxed();
        let task = Arc::new(Task {
            future: Mutex::new(Some(future)),
            queue: self.ready.clone(),
        });
        {
            let mut spawned = self.spawned.lock();
            // Forget finished tasks now and then, so the list follows the live ones.
            if spawned.len() >= 1_024 && spawned.len().is_power_of_two() {
                spawned.retain(|task| task.strong_count() > 0);
            }
            spawned.push(Arc::downgrade(&task));
        }
        self.ready.lock().push_back(task);
    }

    /// Drops every unfinished task. Tasks that never end (a validator's proposer) and the
    /// timers and wakers they wait on hold each other; this frees them when a run is over.
    pub fn shutdown(&self) {
        let tasks: Vec<_> = self.spawned.lock().drain(..).collect();
        let futures: Vec<_> = tasks
            .iter()
            .filter_map(|task| task.upgrade())
            .filter_map(|task| task.future.lock().take())
            .collect();
        // Dropping a future may wake other tasks into the queue: clear it afterwards.
        drop(futures);
        self.ready.lock().clear();
    }

    /// Polls ready tasks until none is ready. Returns how many polls it made.
    pub fn run_until_stalled(&self) -> usize {
        let mut polls = 0;
        loop {
            let next = self.ready.lock().pop_front();
            let Some(task) = next else {
                return polls;
            };
            polls += 1;
            let mut slot = task.future.lock();
            if let Some(mut future) = slot.take() {
                let waker = waker_ref(&task);
                let mut context = Context::from_waker(&waker);
                if future.as_mut().poll(&mut context).is_pending() {
                    *slot = Some(future);
                }
            }
        }
    }

    /// Tasks spawned and not finished.
    pub fn live_tasks(&self) -> u64 {
        self.live.load(Ordering::SeqCst)
    }
}

/// Virtual time: `now` moves only when the simulator fires the next timer.
#[derive(Clone, Default)]
pub struct SimClock {
    state: Arc<Mutex<ClockState>>,
}

#[derive(Default)]
struct ClockState {
    now: u64,
    sequence: u64,
    timers: BTreeMap<(u64, u64), oneshot::Sender<()>>,
}

impl SimClock {
    /// Fires the earliest timers (all those due at the same instant), moving time forward
    /// to them. Returns `false` if no timer is set.
    pub fn advance(&self) -> bool {
        let mut state = self.state.lock();
        let Some((&(deadline, _), _)) = state.timers.iter().next() else {
            return false;
        };
        state.now = state.now.max(deadline);
        while let Some(entry) = state.timers.first_entry() {
            if entry.key().0 > deadline {
                break;
            }
            // A dropped sleep is not an error.
            let _ = entry.remove().send(());
        }
        true
    }

    /// Cancels every timer, waking its sleeper (used when a run is over).
    pub fn clear_timers(&self) {
        let timers = std::mem::take(&mut self.state.lock().timers);
        drop(timers);
    }

    /// The current virtual time in microseconds.
    pub fn micros(&self) -> u64 {
        self.state.lock().now
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.state.lock().now)
    }

    fn sleep(&self, delta: TimeDelta) -> Sleep {
        let (sender, receiver) = oneshot::channel();
        {
            let mut state = self.state.lock();
            let deadline = state.now.saturating_add(delta.as_micros());
            let sequence = state.sequence;
            state.sequence += 1;
            state.timers.insert((deadline, sequence), sender);
        }
        Box::pin(async move {
            // A cancelled timer (clock dropped) wakes the sleeper too.
            let _ = receiver.await;
        })
    }
}
