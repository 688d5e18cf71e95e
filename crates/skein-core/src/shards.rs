//! [`Shards`]: which of a validator's shards answers, the same rule wherever they run: in
//! this process ([`LocalValidator`](crate::LocalValidator)), behind a proxy, or as the
//! peers a shard process sends cross-chain requests to.

use skein_base::ChainId;

use crate::forward::Route;

/// Which of `shard_count` shards owns a chain: `hash(chain) mod shards`.
pub fn shard_of(chain_id: &ChainId, shard_count: usize) -> usize {
    spread(chain_id.0.prefix_u64(), shard_count)
}

fn spread(number: u64, shard_count: usize) -> usize {
    let count = shard_count.max(1) as u64;
    usize::try_from(number % count).expect("a shard index fits usize")
}

/// One `T` per shard, in shard order: a worker, a connection to a shard process, a queue
/// to a peer.
#[derive(Debug)]
pub struct Shards<T> {
    shards: Vec<T>,
}

impl<T> Shards<T> {
    /// The shards, in order.
    ///
    /// # Panics
    ///
    /// If there are none: a validator has at least one shard, which its configuration
    /// checks.
    pub fn new(shards: Vec<T>) -> Self {
        assert!(!shards.is_empty(), "a validator has at least one shard");
        Self { shards }
    }

    /// How many there are.
    pub fn count(&self) -> usize {
        self.shards.len()
    }

    /// Which shard answers what `route` names.
    pub fn index_of(&self, route: Route) -> usize {
        match route {
            Route::Chain(chain_id) => shard_of(&chain_id, self.count()),
            Route::AnyShard(number) => spread(number, self.count()),
        }
    }

    /// The shard that answers what `route` names.
    pub fn route(&self, route: Route) -> &T {
        &self.shards[self.index_of(route)]
    }

    /// The shard that owns `chain_id`.
    pub fn owner(&self, chain_id: &ChainId) -> &T {
        self.route(Route::Chain(*chain_id))
    }

    /// Any shard, for what every shard can answer.
    pub fn first(&self) -> &T {
        &self.shards[0]
    }

    /// Every shard, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.shards.iter()
    }
}

#[cfg(test)]
mod tests {
    use skein_base::{crypto::CryptoHash, ChainId};

    use super::{shard_of, Shards};
    use crate::forward::Route;

    #[test]
    fn test_a_chain_is_routed_to_the_shard_that_owns_it() {
        let shards = Shards::new(vec![0, 1, 2, 3]);
        for seed in 0..64u8 {
            let chain_id = ChainId(CryptoHash::of_bytes(&[seed]));
            let owner = shard_of(&chain_id, 4);
            assert_eq!(*shards.owner(&chain_id), owner);
            assert_eq!(shards.index_of(Route::Chain(chain_id)), owner);
        }
        assert_eq!(shards.index_of(Route::AnyShard(7)), 3);
    }

    #[test]
    fn test_one_shard_answers_everything() {
        let shards = Shards::new(vec!["only"]);
        let chain_id = ChainId(CryptoHash::of_bytes(b"chain"));
        assert_eq!(*shards.owner(&chain_id), "only");
        assert_eq!(*shards.route(Route::AnyShard(u64::MAX)), "only");
    }
}
