//! [`Clock`]: where the protocol gets time, so the simulator can replace it.

use std::{
    future::Future,
    pin::Pin,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use skein_base::{TimeDelta, Timestamp};

/// A boxed future that sleeps.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The time and the ability to wait. Workers only read the time; clients also wait (for
/// retries and timeouts). Nothing in the core calls the system clock directly.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;

    /// A future that completes after `delta`.
    fn sleep(&self, delta: TimeDelta) -> Sleep;
}

/// The real clock, with tokio timers.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp::from_micros(u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX))
    }

    fn sleep(&self, delta: TimeDelta) -> Sleep {
        Box::pin(tokio::time::sleep(delta.as_duration()))
    }
}
