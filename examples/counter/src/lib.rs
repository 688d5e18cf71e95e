//! A counter: created with a starting value, each operation adds to it and answers the new
//! value, and the counter remembers the height of the block that last changed it. Adding
//! past `u64::MAX` fails the operation and changes nothing.

use skein_sdk::{BlockHeight, Contract, ContractRuntime};

/// Where the value lives in the application's state.
const VALUE: &[u8] = b"value";

/// Where the height of the last change lives.
pub const UPDATED_AT: &[u8] = b"updated_at";

/// The counter's contract.
pub struct Counter {
    runtime: ContractRuntime,
}

impl Contract for Counter {
    type InstantiationArgument = u64;
    type Operation = u64;
    type Message = ();
    type Response = u64;

    fn new(runtime: ContractRuntime) -> Self {
        Counter { runtime }
    }

    fn instantiate(&mut self, start: u64) {
        self.runtime.set(VALUE, &start);
    }

    fn execute_operation(&mut self, increment: u64) -> u64 {
        let value = self.runtime.get::<u64>(VALUE).unwrap_or(0);
        let value = value
            .checked_add(increment)
            .unwrap_or_else(|| panic!("the counter would overflow: {value} + {increment}"));
        self.runtime.set(VALUE, &value);
        let height: BlockHeight = self.runtime.context().height;
        self.runtime.set(UPDATED_AT, &height);
        value
    }

    fn execute_message(&mut self, (): ()) {}
}

skein_sdk::contract!(Counter);

#[cfg(test)]
mod tests {
    use super::*;

    use skein_sdk::{ApplicationId, CallContext, ChainId, Timestamp};

    fn runtime() -> ContractRuntime {
        ContractRuntime::with_context(CallContext {
            application_id: ApplicationId(hash(1)),
            chain_id: ChainId(hash(2)),
            height: BlockHeight(7),
            timestamp: Timestamp::from_micros(0),
            authenticated_signer: None,
        })
    }

    fn hash(byte: u8) -> skein_sdk::CryptoHash {
        skein_sdk::CryptoHash::of_bytes(&[byte])
    }

    #[test]
    fn test_operations_add_to_the_starting_value() {
        let mut counter = Counter::new(runtime());
        counter.instantiate(40);
        assert_eq!(counter.execute_operation(1), 41);
        assert_eq!(counter.execute_operation(1), 42);
        assert_eq!(
            counter.runtime.get::<BlockHeight>(UPDATED_AT),
            Some(BlockHeight(7))
        );
    }

    #[test]
    #[should_panic(expected = "overflow")]
    fn test_overflow_fails() {
        let mut counter = Counter::new(runtime());
        counter.instantiate(u64::MAX);
        counter.execute_operation(1);
    }
}
