//! Heights, epochs, rounds and time.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::amount::ArithmeticError;

/// The position of a block in its chain, from 0.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BlockHeight(pub u64);

impl BlockHeight {
    /// The height after this one.
    pub fn try_add_one(self) -> Result<BlockHeight, ArithmeticError> {
        self.0
            .checked_add(1)
            .map(BlockHeight)
            .ok_or(ArithmeticError::Overflow)
    }

    /// The height before this one, if any.
    pub fn previous(self) -> Option<BlockHeight> {
        self.0.checked_sub(1).map(BlockHeight)
    }

    /// The height as an index into a log of blocks.
    pub fn as_index(self) -> usize {
        usize::try_from(self.0).expect("block heights stay below usize::MAX on 64-bit hosts")
    }
}

impl From<u64> for BlockHeight {
    fn from(height: u64) -> Self {
        BlockHeight(height)
    }
}

impl fmt::Display for BlockHeight {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

impl fmt::Debug for BlockHeight {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "h{}", self.0)
    }
}

/// The number of a committee configuration. Every block names the epoch whose committee
/// certifies it.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Epoch(pub u32);

impl Epoch {
    /// The genesis epoch.
    pub const ZERO: Epoch = Epoch(0);

    /// The epoch after this one.
    pub fn try_add_one(self) -> Result<Epoch, ArithmeticError> {
        self.0
            .checked_add(1)
            .map(Epoch)
            .ok_or(ArithmeticError::Overflow)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

impl fmt::Debug for Epoch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "epoch{}", self.0)
    }
}

/// A consensus round at one height. Rounds are ordered: the fast round first, then
/// multi-leader, single-leader and validator rounds, each numbered from 0.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Round {
    /// Super owners propose and validators confirm at once. Single-owner chains use only
    /// this round.
    #[default]
    Fast,
    /// Any owner may propose.
    MultiLeader(u32),
    /// One owner, drawn by weight, may propose.
    SingleLeader(u32),
    /// Validators take turns proposing.
    Validator(u32),
}

impl fmt::Display for Round {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Round::Fast => write!(formatter, "fast round"),
            Round::MultiLeader(number) => write!(formatter, "multi-leader round {number}"),
            Round::SingleLeader(number) => write!(formatter, "single-leader round {number}"),
            Round::Validator(number) => write!(formatter, "validator round {number}"),
        }
    }
}

/// A duration in microseconds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct TimeDelta(u64);

impl TimeDelta {
    /// A duration of so many microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        TimeDelta(micros)
    }

    /// A duration of so many milliseconds (saturating at the largest duration).
    pub const fn from_millis(millis: u64) -> Self {
        TimeDelta(millis.saturating_mul(1_000))
    }

    /// A duration of so many seconds (saturating at the largest duration).
    pub const fn from_secs(secs: u64) -> Self {
        TimeDelta(secs.saturating_mul(1_000_000))
    }

    /// The duration in microseconds.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// The sum, saturating at the largest duration.
    pub const fn saturating_add(self, other: TimeDelta) -> Self {
        TimeDelta(self.0.saturating_add(other.0))
    }

    /// The duration as a standard one.
    pub const fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_micros(self.0)
    }
}

/// A point in time: microseconds since the Unix epoch. Block timestamps never decrease
/// along a chain.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(u64);

impl Timestamp {
    /// A time given in microseconds since the Unix epoch.
    pub const fn from_micros(micros: u64) -> Self {
        Timestamp(micros)
    }

    /// Microseconds since the Unix epoch.
    pub const fn micros(self) -> u64 {
        self.0
    }

    /// This time plus a duration, stopping at the end of time rather than wrapping.
    pub const fn saturating_add(self, delta: TimeDelta) -> Self {
        Timestamp(self.0.saturating_add(delta.0))
    }

    /// How long after `earlier` this time is; zero if it is not after it.
    pub const fn saturating_since(self, earlier: Timestamp) -> TimeDelta {
        TimeDelta(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0 / 1_000_000;
        let micros = self.0 % 1_000_000;
        write!(formatter, "{seconds}.{micros:06}s")
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}
