//! A counter: created with a starting value, each operation adds to it and answers the new
//! value, and the counter remembers the height of the block that last changed it. Adding
//! past `u64::MAX` fails the operation and changes nothing. Its service tells the value
//! and when it last changed, in GraphQL.
//!
//! The two Wasm modules are the binaries `counter_contract` and `counter_service`.

use async_graphql::{EmptyMutation, EmptySubscription, Schema, SimpleObject};
use skein_sdk::{
    graphql, BlockHeight, Contract, ContractRuntime, ReadState, Service, ServiceRuntime,
};

/// Where the value lives in the application's state.
const VALUE: &[u8] = b"value";

/// Where the height of the last change lives.
pub const UPDATED_AT: &[u8] = b"updated_at";

/// The counter's interface: operations add a number and answer the new value.
pub struct CounterAbi;

impl skein_sdk::Abi for CounterAbi {
    type Operation = u64;
    type Response = u64;
}

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

/// The counter's service.
pub struct CounterService {
    runtime: ServiceRuntime,
}

/// What the service answers, in GraphQL: `{ value updatedAt }`.
#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
pub struct CounterState {
    /// The value.
    pub value: u64,
    /// The height of the block that last changed it, if an operation did.
    pub updated_at: Option<u64>,
}

impl Service for CounterService {
    type Query = async_graphql::Request;
    type QueryResponse = async_graphql::Response;

    fn new(runtime: ServiceRuntime) -> Self {
        CounterService { runtime }
    }

    fn handle_query(&self, request: async_graphql::Request) -> async_graphql::Response {
        let state = CounterState {
            value: self.runtime.get(VALUE).unwrap_or(0),
            updated_at: self
                .runtime
                .get::<BlockHeight>(UPDATED_AT)
                .map(|height| height.0),
        };
        let schema = Schema::new(state, EmptyMutation, EmptySubscription);
        graphql::execute(&schema, request)
    }
}

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
            message: None,
            authenticated_caller: None,
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
        let service = CounterService::new(counter.runtime.service_runtime());
        let response = service.handle_query(async_graphql::Request::new("{ value updatedAt }"));
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert_eq!(response.data.to_string(), "{value: 42, updatedAt: 7}");
    }

    #[test]
    #[should_panic(expected = "overflow")]
    fn test_overflow_fails() {
        let mut counter = Counter::new(runtime());
        counter.instantiate(u64::MAX);
        counter.execute_operation(1);
    }
}
