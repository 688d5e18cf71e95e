//! A constant-product market maker between two [`fungible`] tokens on one chain.
//!
//! The pool holds both tokens in its own accounts (`AccountOwner::Application`). Liquidity
//! providers deposit both in proportion and receive shares; a swap pays in one token and
//! takes out the other so that the product of the reserves does not fall (a 0.3% fee stays
//! in the pool); withdrawing shares pays back a proportional part of both reserves. Every
//! movement of tokens is a call to the token, passing the user's signature on, so an
//! operation that cannot be paid for fails whole and moves nothing.
//!
//! Prices are computed in micro-tokens (10⁻⁶), rounding in the pool's favour, so that
//! products of reserves fit in 128 bits. The two Wasm modules are `amm_contract` and
//! `amm_service`; the pool requires both tokens when created.

use fungible::{FungibleAbi, TokenAccount};
use serde::{Deserialize, Serialize};
use skein_sdk::{
    AccountOwner, Amount, ApplicationId, Contract, ContractRuntime, ReadState, Service,
    ServiceRuntime,
};

/// The attos in a micro-token, the unit of the pool's arithmetic.
const MICRO: u128 = 1_000_000_000_000;
/// The reserves, in attos.
const RESERVES: &[u8] = b"R";
/// All shares issued.
const TOTAL_SHARES: &[u8] = b"T";
/// Each provider's shares: this prefix, then the provider (BCS).
const SHARES: &[u8] = b"S";

/// The two tokens, fixed when the pool is created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameters {
    /// Token 0.
    pub token_0: ApplicationId,
    /// Token 1.
    pub token_1: ApplicationId,
}

/// What users ask of the pool. The owner must sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    /// Deposits both tokens; the first deposit sets the price, later ones must follow it
    /// (the excess of either token is not taken).
    AddLiquidity {
        /// The provider.
        owner: AccountOwner,
        /// At most this much of token 0.
        amount_0: Amount,
        /// At most this much of token 1.
        amount_1: Amount,
    },
    /// Gives shares back for a proportional part of both reserves.
    RemoveLiquidity {
        /// The provider.
        owner: AccountOwner,
        /// How many shares.
        shares: u128,
    },
    /// Pays `amount_in` of one token for as much of the other as the pool gives, at least
    /// `min_amount_out`.
    Swap {
        /// The trader.
        owner: AccountOwner,
        /// Which token is paid in: 0 or 1.
        token_in: u8,
        /// How much is paid.
        amount_in: Amount,
        /// The least the trader accepts in return.
        min_amount_out: Amount,
    },
}

/// The pool's interface: what its users send in blocks.
pub struct AmmAbi;

impl skein_sdk::Abi for AmmAbi {
    type Operation = Operation;
    type Response = ();
}

/// The market maker's contract.
pub struct Amm {
    runtime: ContractRuntime,
}

impl Contract for Amm {
    type InstantiationArgument = ();
    type Operation = Operation;
    type Message = ();
    type Response = ();

    fn new(runtime: ContractRuntime) -> Self {
        Amm { runtime }
    }

    fn instantiate(&mut self, (): ()) {
        let parameters: Parameters = self.runtime.parameters();
        assert!(
            parameters.token_0 != parameters.token_1,
            "a pool needs two different tokens"
        );
    }

    fn execute_operation(&mut self, operation: Operation) {
        let owner = match &operation {
            Operation::AddLiquidity { owner, .. }
            | Operation::RemoveLiquidity { owner, .. }
            | Operation::Swap { owner, .. } => *owner,
        };
        let signer = self.runtime.context().authenticated_signer;
        assert!(signer == Some(owner), "only {owner} may trade its tokens");
        let [reserve_0, reserve_1] = reserves(&self.runtime);
        match operation {
            Operation::AddLiquidity {
                amount_0, amount_1, ..
            } => {
                let total = total_shares(&self.runtime);
                let (taken_0, taken_1, minted) = if total == 0 {
                    assert!(
                        micros(amount_0) > 0 && micros(amount_1) > 0,
                        "the first deposit needs both tokens"
                    );
                    (amount_0, amount_1, micros(amount_0))
                } else {
                    // Follow the pool's price: take all of the scarcer side.
                    let by_0 = micros(amount_0) * micros(reserve_1) / micros(reserve_0).max(1);
                    if by_0 <= micros(amount_1) {
                        let minted = micros(amount_0) * total / micros(reserve_0).max(1);
                        (amount_0, attos(by_0), minted)
                    } else {
                        let by_1 = micros(amount_1) * micros(reserve_0) / micros(reserve_1).max(1);
                        let minted = micros(amount_1) * total / micros(reserve_1).max(1);
                        (attos(by_1), amount_1, minted)
                    }
                };
                assert!(minted > 0, "a deposit too small for a share");
                self.receive(0, owner, taken_0);
                self.receive(1, owner, taken_1);
                self.set_reserves([add(reserve_0, taken_0), add(reserve_1, taken_1)]);
                self.runtime.set(TOTAL_SHARES, &(total + minted));
                let held = shares(&self.runtime, owner);
                self.runtime.set(&shares_key(owner), &(held + minted));
            }
            Operation::RemoveLiquidity { shares: burnt, .. } => {
                let held = shares(&self.runtime, owner);
                assert!(
                    burnt > 0 && burnt <= held,
                    "{owner} holds {held} shares, not {burnt}"
                );
                let total = total_shares(&self.runtime);
                let out_0 = attos(micros(reserve_0) * burnt / total);
                let out_1 = attos(micros(reserve_1) * burnt / total);
                let (out_0, out_1) = if burnt == total {
                    (reserve_0, reserve_1)
                } else {
                    (out_0, out_1)
                };
                self.pay(0, owner, out_0);
                self.pay(1, owner, out_1);
                self.set_reserves([sub(reserve_0, out_0), sub(reserve_1, out_1)]);
                self.runtime.set(TOTAL_SHARES, &(total - burnt));
                if held == burnt {
                    self.runtime.remove(&shares_key(owner));
                } else {
                    self.runtime.set(&shares_key(owner), &(held - burnt));
                }
            }
            Operation::Swap {
                token_in,
                amount_in,
                min_amount_out,
                ..
            } => {
                assert!(token_in < 2, "token_in is 0 or 1");
                let (reserve_in, reserve_out) = if token_in == 0 {
                    (reserve_0, reserve_1)
                } else {
                    (reserve_1, reserve_0)
                };
                let amount_out = swap_output(reserve_in, reserve_out, amount_in);
                assert!(
                    !amount_out.is_zero(),
                    "the pool gives nothing for {amount_in}"
                );
                assert!(
                    amount_out >= min_amount_out,
                    "the pool gives {amount_out}, less than the {min_amount_out} asked"
                );
                let token_out = 1 - token_in;
                self.receive(token_in, owner, amount_in);
                self.pay(token_out, owner, amount_out);
                let (new_in, new_out) = (add(reserve_in, amount_in), sub(reserve_out, amount_out));
                self.set_reserves(if token_in == 0 {
                    [new_in, new_out]
                } else {
                    [new_out, new_in]
                });
            }
        }
    }

    fn execute_message(&mut self, (): ()) {}
}

impl Amm {
    fn token(&self, index: u8) -> ApplicationId {
        let parameters: Parameters = self.runtime.parameters();
        if index == 0 {
            parameters.token_0
        } else {
            parameters.token_1
        }
    }

    fn own_account(&self) -> TokenAccount {
        let context = self.runtime.context();
        TokenAccount {
            chain_id: context.chain_id,
            owner: AccountOwner::Application(context.application_id),
        }
    }

    /// Moves `amount` of token `index` from `owner` (who signed) to the pool.
    fn receive(&mut self, index: u8, owner: AccountOwner, amount: Amount) {
        if amount.is_zero() {
            return;
        }
        let call = fungible::Call::Transfer {
            owner,
            amount,
            target: self.own_account(),
        };
        let token = self.token(index);
        self.runtime
            .call::<FungibleAbi>(true, token, &call, Vec::new());
    }

    /// Moves `amount` of token `index` from the pool to `owner`.
    fn pay(&mut self, index: u8, owner: AccountOwner, amount: Amount) {
        if amount.is_zero() {
            return;
        }
        let call = fungible::Call::Transfer {
            owner: self.own_account().owner,
            amount,
            target: TokenAccount {
                chain_id: self.runtime.context().chain_id,
                owner,
            },
        };
        let token = self.token(index);
        self.runtime
            .call::<FungibleAbi>(false, token, &call, Vec::new());
    }

    fn set_reserves(&mut self, reserves: [Amount; 2]) {
        self.runtime.set(RESERVES, &reserves);
    }
}

/// What a swap of `amount_in` gives, the 0.3% fee kept in the pool, rounded down.
pub fn swap_output(reserve_in: Amount, reserve_out: Amount, amount_in: Amount) -> Amount {
    let effective_in = micros(amount_in) * 997;
    let denominator = micros(reserve_in) * 1_000 + effective_in;
    if denominator == 0 {
        return Amount::ZERO;
    }
    attos(micros(reserve_out) * effective_in / denominator)
}

fn micros(amount: Amount) -> u128 {
    amount.to_attos() / MICRO
}

fn attos(micros: u128) -> Amount {
    Amount::from_attos(micros * MICRO)
}

fn add(left: Amount, right: Amount) -> Amount {
    left.try_add(right).expect("reserves fit in an amount")
}

fn sub(left: Amount, right: Amount) -> Amount {
    left.try_sub(right)
        .expect("the pool pays out no more than it holds")
}

fn reserves(state: &impl ReadState) -> [Amount; 2] {
    state.get(RESERVES).unwrap_or([Amount::ZERO; 2])
}

fn total_shares(state: &impl ReadState) -> u128 {
    state.get(TOTAL_SHARES).unwrap_or(0)
}

fn shares_key(owner: AccountOwner) -> Vec<u8> {
    [SHARES, &bcs::to_bytes(&owner).expect("an owner encodes")].concat()
}

fn shares(state: &impl ReadState, owner: AccountOwner) -> u128 {
    state.get(&shares_key(owner)).unwrap_or(0)
}

/// What the service answers (to any JSON query).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    /// The reserves of token 0 and token 1.
    pub reserves: [Amount; 2],
    /// All shares issued.
    pub total_shares: u128,
    /// Each provider's shares.
    pub providers: Vec<(AccountOwner, u128)>,
}

/// The market maker's service.
pub struct AmmService {
    runtime: ServiceRuntime,
}

impl Service for AmmService {
    type Query = serde::de::IgnoredAny;
    type QueryResponse = Pool;

    fn new(runtime: ServiceRuntime) -> Self {
        AmmService { runtime }
    }

    fn handle_query(&self, _query: serde::de::IgnoredAny) -> Pool {
        let providers = self
            .runtime
            .find_keys(SHARES)
            .into_iter()
            .map(|suffix| {
                let owner: AccountOwner = bcs::from_bytes(&suffix)
                    .unwrap_or_else(|error| panic!("a stored owner: {error}"));
                (owner, shares(&self.runtime, owner))
            })
            .collect();
        Pool {
            reserves: reserves(&self.runtime),
            total_shares: total_shares(&self.runtime),
            providers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(count: u128) -> Amount {
        Amount::from_tokens(count)
    }

    #[test]
    fn test_a_swap_keeps_the_product_and_the_fee() {
        let out = swap_output(tokens(100), tokens(200), tokens(10));
        // 200 × 9.97 / 109.97 = 18.1322178…, rounded down to the micro-token.
        assert_eq!(out, Amount::from_attos(18_132_217 * MICRO));
        let before = micros(tokens(100)) * micros(tokens(200));
        let after = micros(tokens(110)) * micros(tokens(200).try_sub(out).unwrap());
        assert!(after > before, "the product grows by the fee");
    }

    #[test]
    fn test_a_swap_takes_the_traders_tokens_and_pays_from_the_pool() {
        use std::sync::{Arc, Mutex};

        use skein_sdk::{
            BlockHeight, CallContext, CallResult, Callee, ChainId, CryptoHash, Timestamp,
        };

        let hash = |text: &[u8]| CryptoHash::of_bytes(text);
        let (token_0, token_1) = (ApplicationId(hash(b"A")), ApplicationId(hash(b"B")));
        let me = AccountOwner::User(hash(b"me"));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = calls.clone();
        let runtime = ContractRuntime::with_context(CallContext {
            application_id: ApplicationId(hash(b"pool")),
            chain_id: ChainId(hash(b"chain")),
            height: BlockHeight(1),
            timestamp: Timestamp::from_micros(0),
            authenticated_signer: Some(me),
            message: None,
            authenticated_caller: None,
        })
        .with_parameters(&Parameters { token_0, token_1 })
        .on_calls(move |callee, argument, _| {
            let call: fungible::Call = bcs::from_bytes(argument).unwrap();
            recorded.lock().unwrap().push((callee, call));
            CallResult {
                response: bcs::to_bytes(&Amount::ZERO).unwrap(),
                sessions: Vec::new(),
            }
        });
        let mut pool = Amm::new(runtime);
        pool.instantiate(());
        pool.execute_operation(Operation::AddLiquidity {
            owner: me,
            amount_0: tokens(100),
            amount_1: tokens(200),
        });
        calls.lock().unwrap().clear();
        pool.execute_operation(Operation::Swap {
            owner: me,
            token_in: 1,
            amount_in: tokens(20),
            min_amount_out: Amount::ZERO,
        });
        let calls = calls.lock().unwrap();
        let [(paid_to, fungible::Call::Transfer { owner: from, .. }), (paid_from, fungible::Call::Transfer { target, amount, .. })] =
            &calls[..]
        else {
            panic!("two transfers: {calls:?}")
        };
        assert_eq!(
            *paid_to,
            Callee::Application {
                id: token_1,
                authenticated: true
            }
        );
        assert_eq!(*from, me);
        assert_eq!(
            *paid_from,
            Callee::Application {
                id: token_0,
                authenticated: false
            }
        );
        assert_eq!(
            (target.owner, *amount),
            (me, swap_output(tokens(200), tokens(100), tokens(20)))
        );
    }

    #[test]
    fn test_an_empty_pool_gives_nothing() {
        assert_eq!(
            swap_output(Amount::ZERO, Amount::ZERO, tokens(1)),
            Amount::ZERO
        );
        assert_eq!(
            swap_output(tokens(5), tokens(5), Amount::ZERO),
            Amount::ZERO
        );
    }
}
