//! __NAME__: a Skein application. Its contract keeps a counter that operations add to; its
//! service answers what the counter holds. Change both to make it yours.

use serde::{Deserialize, Serialize};
use skein_sdk::{
    BlockHeight, Contract, ContractRuntime, ReadState, Service, ServiceRuntime,
};

const VALUE: &[u8] = b"value";
const UPDATED_AT: &[u8] = b"updated_at";

/// The application's interface, for other applications and clients: the same types as
/// the contract's.
pub struct __TYPE__Abi;

impl skein_sdk::Abi for __TYPE__Abi {
    type Operation = u64;
    type Response = u64;
}

/// The contract: runs in blocks, changes the state.
pub struct __TYPE__Contract {
    runtime: ContractRuntime,
}

impl Contract for __TYPE__Contract {
    type InstantiationArgument = u64;
    type Operation = u64;
    type Message = ();
    type Response = u64;

    fn new(runtime: ContractRuntime) -> Self {
        Self { runtime }
    }

    fn instantiate(&mut self, start: u64) {
        self.runtime.set(VALUE, &start);
    }

    fn execute_operation(&mut self, increment: u64) -> u64 {
        let value = self.runtime.get::<u64>(VALUE).unwrap_or(0);
        let value = value
            .checked_add(increment)
            .unwrap_or_else(|| panic!("the counter would overflow"));
        self.runtime.set(VALUE, &value);
        let height = self.runtime.context().height;
        self.runtime.set(UPDATED_AT, &height);
        value
    }

    fn execute_message(&mut self, (): ()) {}
}

/// What the service answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The counter.
    pub value: u64,
    /// The height of the block that last changed it.
    pub updated_at: Option<BlockHeight>,
}

/// The service: answers queries, reads only.
pub struct __TYPE__Service {
    runtime: ServiceRuntime,
}

impl Service for __TYPE__Service {
    type Query = ();
    type QueryResponse = State;

    fn new(runtime: ServiceRuntime) -> Self {
        Self { runtime }
    }

    fn handle_query(&self, (): ()) -> State {
        State {
            value: self.runtime.get(VALUE).unwrap_or(0),
            updated_at: self.runtime.get(UPDATED_AT),
        }
    }
}

#[cfg(test)]
mod tests {
    use skein_sdk::{ApplicationId, CallContext, ChainId, CryptoHash, Timestamp};

    use super::*;

    #[test]
    fn test_operations_add_up_and_the_service_sees_them() {
        let runtime = ContractRuntime::with_context(CallContext {
            application_id: ApplicationId(CryptoHash::of_bytes(b"app")),
            chain_id: ChainId(CryptoHash::of_bytes(b"chain")),
            height: BlockHeight(2),
            timestamp: Timestamp::from_micros(0),
            authenticated_signer: None,
            message: None,
            authenticated_caller: None,
        });
        let mut contract = __TYPE__Contract::new(runtime);
        contract.instantiate(1);
        assert_eq!(contract.execute_operation(2), 3);
        let service = __TYPE__Service::new(contract.runtime.service_runtime());
        assert_eq!(
            service.handle_query(()),
            State {
                value: 3,
                updated_at: Some(BlockHeight(2))
            }
        );
    }
}
