//! A fungible token. Its accounts live on many chains: each chain's instance keeps the
//! balances of the accounts on that chain. A transfer to another chain debits here and
//! sends a tracked `Credit`; if the recipient chain rejects it, it bounces back and the
//! sender is refunded, so tokens are never lost or created. A claim asks another chain,
//! on the signer's behalf, to send tokens from the signer's account there.
//!
//! Other applications on a chain call it ([`Call`]): to move tokens of the signer (if the
//! caller passes the signer on) or of their own account (`AccountOwner::Application`), or
//! to withdraw tokens into a *session* they then own and spend ([`SessionCall`]); a
//! transaction cannot end with tokens left in a session.
//!
//! The two Wasm modules are the binaries `fungible_contract` and `fungible_service`.

use serde::{Deserialize, Serialize};
use skein_sdk::{
    AccountOwner, Amount, CallOutcome, CallableContract, ChainId, Contract, ContractRuntime,
    Delivery, ReadState, Service, ServiceRuntime, SessionId, SessionOutcome,
};

/// Where balances live: this prefix, then the owner (BCS).
const BALANCE: &[u8] = b"B";

/// An account of the token: an owner on a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenAccount {
    /// The chain holding the account.
    pub chain_id: ChainId,
    /// Its owner.
    pub owner: AccountOwner,
}

/// Fixed when the token is created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameters {
    /// The token's symbol.
    pub ticker: String,
}

/// The accounts the token starts with, on the chain that creates it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialState {
    /// Owners and their balances.
    pub accounts: Vec<(AccountOwner, Amount)>,
}

/// What users ask of the token in blocks. Each needs the owner's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    /// Moves tokens from `owner`'s account on this chain to `target`.
    Transfer {
        /// The account to debit; the block's signer.
        owner: AccountOwner,
        /// How many.
        amount: Amount,
        /// Where they go, on this chain or another.
        target: TokenAccount,
    },
    /// Moves tokens from the signer's account on another chain (`source`) to `target`.
    Claim {
        /// The account to debit; its owner must sign.
        source: TokenAccount,
        /// How many.
        amount: Amount,
        /// Where they go.
        target: TokenAccount,
    },
}

/// What the token's instances send each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// Adds tokens to `target`; if it bounces, gives them back to `source`.
    Credit {
        /// The debited owner on the sending chain.
        source: AccountOwner,
        /// The owner to credit here.
        target: AccountOwner,
        /// How many.
        amount: Amount,
    },
    /// Sends tokens from `owner`'s account here to `target`: only valid with `owner` as
    /// the message's authenticated signer.
    Withdraw {
        /// Whose account to debit.
        owner: AccountOwner,
        /// How many.
        amount: Amount,
        /// Where they go.
        target: TokenAccount,
    },
}

/// What other applications on the chain ask the token. Each moves tokens of `owner`, who
/// must be the signer (passed on by the caller) or the calling application itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Call {
    /// Moves tokens to `target`; answers the owner's remaining balance.
    Transfer {
        /// The account to debit.
        owner: AccountOwner,
        /// How many.
        amount: Amount,
        /// Where they go.
        target: TokenAccount,
    },
    /// Takes tokens out of the account into a new session the caller owns; answers the
    /// amount.
    Withdraw {
        /// The account to debit.
        owner: AccountOwner,
        /// How many.
        amount: Amount,
    },
    /// Answers an owner's balance on this chain.
    Balance {
        /// The owner.
        owner: AccountOwner,
    },
}

/// What the owner of a session of tokens asks of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionCall {
    /// Moves tokens out of the session to `target` (refunded to the session's owner's
    /// account if a transfer to another chain bounces); answers what remains. The session
    /// closes once empty.
    Transfer {
        /// How many.
        amount: Amount,
        /// Where they go.
        target: TokenAccount,
    },
}

/// The token's interface, for its users and for the applications that call it.
pub struct FungibleAbi;

impl skein_sdk::Abi for FungibleAbi {
    type Operation = Operation;
    type Response = ();
}

impl skein_sdk::CallableAbi for FungibleAbi {
    type Call = Call;
    type CallResponse = Amount;
    type SessionCall = SessionCall;
    type SessionResponse = Amount;
}

/// The token's contract.
pub struct FungibleToken {
    runtime: ContractRuntime,
}

impl Contract for FungibleToken {
    type InstantiationArgument = InitialState;
    type Operation = Operation;
    type Message = Message;
    type Response = ();

    fn new(runtime: ContractRuntime) -> Self {
        FungibleToken { runtime }
    }

    fn instantiate(&mut self, state: InitialState) {
        let Parameters { ticker } = self.runtime.parameters();
        assert!(!ticker.is_empty(), "the ticker is empty");
        for (owner, amount) in state.accounts {
            self.credit(owner, amount);
        }
    }

    fn execute_operation(&mut self, operation: Operation) {
        match operation {
            Operation::Transfer {
                owner,
                amount,
                target,
            } => {
                self.check_signer(owner);
                self.send(owner, amount, target);
            }
            Operation::Claim {
                source,
                amount,
                target,
            } => {
                self.check_signer(source.owner);
                if source.chain_id == self.runtime.context().chain_id {
                    self.send(source.owner, amount, target);
                } else {
                    let message = Message::Withdraw {
                        owner: source.owner,
                        amount,
                        target,
                    };
                    self.runtime.send_message(
                        source.chain_id,
                        &message,
                        Delivery::SIMPLE.authenticated(),
                    );
                }
            }
        }
    }

    fn execute_message(&mut self, message: Message) {
        let bouncing = self
            .runtime
            .context()
            .message
            .is_some_and(|message| message.is_bouncing);
        match message {
            Message::Credit {
                source,
                target,
                amount,
            } => {
                let beneficiary = if bouncing { source } else { target };
                self.credit(beneficiary, amount);
            }
            Message::Withdraw {
                owner,
                amount,
                target,
            } => {
                self.check_signer(owner);
                self.send(owner, amount, target);
            }
        }
    }
}

impl CallableContract for FungibleToken {
    type Call = Call;
    type CallResponse = Amount;
    type Session = Amount;
    type SessionCall = SessionCall;
    type SessionResponse = Amount;

    fn handle_call(&mut self, call: Call, sessions: Vec<SessionId>) -> CallOutcome<Amount, Amount> {
        assert!(sessions.is_empty(), "the token takes no sessions");
        match call {
            Call::Transfer {
                owner,
                amount,
                target,
            } => {
                self.check_owner(owner);
                self.send(owner, amount, target);
                CallOutcome::new(balance(&self.runtime, owner))
            }
            Call::Withdraw { owner, amount } => {
                self.check_owner(owner);
                self.debit(owner, amount);
                CallOutcome {
                    response: amount,
                    new_sessions: vec![amount],
                }
            }
            Call::Balance { owner } => CallOutcome::new(balance(&self.runtime, owner)),
        }
    }

    fn handle_session_call(
        &mut self,
        held: Amount,
        call: SessionCall,
        sessions: Vec<SessionId>,
    ) -> SessionOutcome<Amount, Amount> {
        assert!(sessions.is_empty(), "the token takes no sessions");
        let SessionCall::Transfer { amount, target } = call;
        assert!(!amount.is_zero(), "transfers of nothing are refused");
        let remaining = held
            .try_sub(amount)
            .unwrap_or_else(|_| panic!("the session holds {held}, less than {amount}"));
        let caller = self
            .runtime
            .context()
            .authenticated_caller
            .expect("only an application owns a session");
        self.deliver(AccountOwner::Application(caller), amount, target);
        SessionOutcome {
            response: remaining,
            session: (!remaining.is_zero()).then_some(remaining),
            new_sessions: Vec::new(),
        }
    }
}

impl FungibleToken {
    /// Whether the call may move `owner`'s tokens: the signer passed on by the caller, or
    /// the calling application's own account.
    fn check_owner(&self, owner: AccountOwner) {
        let context = self.runtime.context();
        let caller = context.authenticated_caller.map(AccountOwner::Application);
        assert!(
            context.authenticated_signer == Some(owner) || caller == Some(owner),
            "only {owner} may move its tokens; the signer is {:?}, the caller {caller:?}",
            context.authenticated_signer
        );
    }

    fn check_signer(&self, owner: AccountOwner) {
        let signer = self.runtime.context().authenticated_signer;
        assert!(
            signer == Some(owner),
            "only {owner} may move its tokens; the signer is {signer:?}"
        );
    }

    /// Moves `amount` out of `owner`'s account here to `target`.
    fn send(&mut self, owner: AccountOwner, amount: Amount, target: TokenAccount) {
        self.debit(owner, amount);
        self.deliver(owner, amount, target);
    }

    fn debit(&mut self, owner: AccountOwner, amount: Amount) {
        assert!(!amount.is_zero(), "transfers of nothing are refused");
        let balance = balance(&self.runtime, owner);
        let remaining = balance
            .try_sub(amount)
            .unwrap_or_else(|_| panic!("{owner} holds {balance}, less than {amount}"));
        if remaining.is_zero() {
            self.runtime.remove(&balance_key(owner));
        } else {
            self.runtime.set(&balance_key(owner), &remaining);
        }
    }

    fn credit(&mut self, owner: AccountOwner, amount: Amount) {
        let balance = balance(&self.runtime, owner)
            .try_add(amount)
            .unwrap_or_else(|_| panic!("the balance of {owner} would overflow"));
        self.runtime.set(&balance_key(owner), &balance);
    }

    /// Credits `target` here, or sends it a tracked credit, refunded to `source` if it
    /// bounces.
    fn deliver(&mut self, source: AccountOwner, amount: Amount, target: TokenAccount) {
        if target.chain_id == self.runtime.context().chain_id {
            self.credit(target.owner, amount);
        } else {
            let message = Message::Credit {
                source,
                target: target.owner,
                amount,
            };
            self.runtime
                .send_message(target.chain_id, &message, Delivery::TRACKED);
        }
    }
}

fn balance_key(owner: AccountOwner) -> Vec<u8> {
    let mut key = BALANCE.to_vec();
    key.extend(bcs::to_bytes(&owner).expect("an owner encodes"));
    key
}

fn balance(runtime: &impl ReadState, owner: AccountOwner) -> Amount {
    runtime.get(&balance_key(owner)).unwrap_or_default()
}

/// What the service is asked, as JSON: `{"Balance":{"owner":…}}`, `"Accounts"` or
/// `"Ticker"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// The balance of an owner on this chain.
    Balance {
        /// The owner.
        owner: AccountOwner,
    },
    /// Every account on this chain.
    Accounts,
    /// The token's symbol.
    Ticker,
}

/// What the service answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryResponse {
    /// A balance.
    Balance(Amount),
    /// Owners with their balances, in a stable order.
    Accounts(Vec<(AccountOwner, Amount)>),
    /// The symbol.
    Ticker(String),
}

/// The token's service.
pub struct FungibleTokenService {
    runtime: ServiceRuntime,
}

impl Service for FungibleTokenService {
    type Query = Query;
    type QueryResponse = QueryResponse;

    fn new(runtime: ServiceRuntime) -> Self {
        FungibleTokenService { runtime }
    }

    fn handle_query(&self, query: Query) -> QueryResponse {
        match query {
            Query::Balance { owner } => {
                QueryResponse::Balance(self.runtime.get(&balance_key(owner)).unwrap_or_default())
            }
            Query::Accounts => {
                let accounts = self
                    .runtime
                    .find_keys(BALANCE)
                    .into_iter()
                    .map(|suffix| {
                        let owner: AccountOwner = bcs::from_bytes(&suffix)
                            .unwrap_or_else(|error| panic!("a stored owner: {error}"));
                        (owner, balance(&self.runtime, owner))
                    })
                    .collect();
                QueryResponse::Accounts(accounts)
            }
            Query::Ticker => {
                let Parameters { ticker } = self.runtime.parameters();
                QueryResponse::Ticker(ticker)
            }
        }
    }
}

#[cfg(test)]
#[path = "unit_tests.rs"]
mod unit_tests;
