//! A crowd-funding campaign, paid in a [`fungible`] token on the campaign's chain.
//!
//! A backer pledges by signing a `Pledge` operation: the campaign calls the token, passing
//! the signer on, to withdraw the amount into a *session* it then owns, and spends the
//! session into the campaign's own account — the tokens never sit anywhere unaccounted
//! for, and if any step fails the whole transaction does. Once the target is reached, the
//! campaign's owner collects the pledges; once the deadline passes short of the target,
//! anyone may cancel, which refunds every backer.
//!
//! The two Wasm modules are the binaries `crowd_funding_contract` and
//! `crowd_funding_service`. The campaign requires the token application when created.

use fungible::{FungibleAbi, SessionCall, TokenAccount};
use serde::{Deserialize, Serialize};
use skein_sdk::{
    AccountOwner, Amount, ApplicationId, Contract, ContractRuntime, ReadState, Service,
    ServiceRuntime, Timestamp,
};

/// Where each backer's pledge lives: this prefix, then the backer (BCS).
const PLEDGE: &[u8] = b"P";
/// The campaign's status.
const STATUS: &[u8] = b"S";

/// Fixed when the campaign is created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameters {
    /// The token pledges are paid in (also a required application).
    pub token: ApplicationId,
    /// Who collects the pledges.
    pub owner: AccountOwner,
    /// What must be pledged for the owner to collect.
    pub target: Amount,
    /// After this, pledges are refused, and a campaign short of its target may be
    /// cancelled.
    pub deadline: Timestamp,
}

/// What users ask of the campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    /// Pledges `amount` of the signer's tokens (on this chain).
    Pledge {
        /// The backer, who signs.
        owner: AccountOwner,
        /// How many tokens.
        amount: Amount,
    },
    /// Sends everything pledged to the owner, who signs; the target must be met.
    Collect,
    /// Refunds every backer; only after the deadline, short of the target.
    Cancel,
}

/// Where the campaign stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Taking pledges.
    #[default]
    Active,
    /// The owner collected the pledges.
    Collected,
    /// The backers were refunded.
    Cancelled,
}

/// The campaign's interface: what its backers and its owner send in blocks.
pub struct CrowdFundingAbi;

impl skein_sdk::Abi for CrowdFundingAbi {
    type Operation = Operation;
    type Response = ();
}

/// The campaign's contract.
pub struct CrowdFunding {
    runtime: ContractRuntime,
}

impl Contract for CrowdFunding {
    type InstantiationArgument = ();
    type Operation = Operation;
    type Message = ();
    type Response = ();

    fn new(runtime: ContractRuntime) -> Self {
        CrowdFunding { runtime }
    }

    fn instantiate(&mut self, (): ()) {
        let parameters: Parameters = self.runtime.parameters();
        assert!(!parameters.target.is_zero(), "a campaign needs a target");
        self.runtime.set(STATUS, &Status::Active);
    }

    fn execute_operation(&mut self, operation: Operation) {
        let parameters: Parameters = self.runtime.parameters();
        let context = self.runtime.context();
        let status: Status = self.runtime.get(STATUS).unwrap_or_default();
        assert!(status == Status::Active, "the campaign is {status:?}");
        match operation {
            Operation::Pledge { owner, amount } => {
                assert!(
                    context.timestamp < parameters.deadline,
                    "the campaign's deadline has passed"
                );
                assert!(
                    context.authenticated_signer == Some(owner),
                    "only {owner} may pledge its tokens"
                );
                self.receive(&parameters, owner, amount);
                let pledged = pledge(&self.runtime, owner)
                    .try_add(amount)
                    .expect("pledges fit in an amount");
                self.runtime.set(&pledge_key(owner), &pledged);
            }
            Operation::Collect => {
                assert!(
                    context.authenticated_signer == Some(parameters.owner),
                    "only the campaign's owner collects"
                );
                let total = total(&pledges(&self.runtime));
                assert!(
                    total >= parameters.target,
                    "{total} pledged, short of the target {}",
                    parameters.target
                );
                self.pay(&parameters, parameters.owner, total);
                self.runtime.set(STATUS, &Status::Collected);
            }
            Operation::Cancel => {
                assert!(
                    context.timestamp >= parameters.deadline,
                    "the campaign runs until its deadline"
                );
                let pledges = pledges(&self.runtime);
                assert!(
                    total(&pledges) < parameters.target,
                    "the target is met: the owner collects"
                );
                for (backer, amount) in pledges {
                    self.pay(&parameters, backer, amount);
                }
                self.runtime.set(STATUS, &Status::Cancelled);
            }
        }
    }

    fn execute_message(&mut self, (): ()) {}
}

impl CrowdFunding {
    /// Moves `amount` of `owner`'s tokens into the campaign's account: withdrawn into a
    /// session (the signer passed on to the token), then spent from it.
    fn receive(&mut self, parameters: &Parameters, owner: AccountOwner, amount: Amount) {
        let withdraw = fungible::Call::Withdraw { owner, amount };
        let (_, sessions) =
            self.runtime
                .call::<FungibleAbi>(true, parameters.token, &withdraw, Vec::new());
        let [session] = sessions[..] else {
            panic!("the token created {} sessions, not one", sessions.len())
        };
        let spend = SessionCall::Transfer {
            amount,
            target: self.own_account(),
        };
        let (remaining, _) =
            self.runtime
                .call_into_session::<FungibleAbi>(session, &spend, Vec::new());
        assert!(remaining.is_zero(), "the session was spent entirely");
    }

    /// Sends `amount` from the campaign's account to `recipient` on this chain.
    fn pay(&mut self, parameters: &Parameters, recipient: AccountOwner, amount: Amount) {
        let transfer = fungible::Call::Transfer {
            owner: AccountOwner::Application(self.runtime.context().application_id),
            amount,
            target: TokenAccount {
                chain_id: self.runtime.context().chain_id,
                owner: recipient,
            },
        };
        self.runtime
            .call::<FungibleAbi>(false, parameters.token, &transfer, Vec::new());
    }

    fn own_account(&self) -> TokenAccount {
        let context = self.runtime.context();
        TokenAccount {
            chain_id: context.chain_id,
            owner: AccountOwner::Application(context.application_id),
        }
    }
}

fn pledge_key(owner: AccountOwner) -> Vec<u8> {
    let mut key = PLEDGE.to_vec();
    key.extend(bcs::to_bytes(&owner).expect("an owner encodes"));
    key
}

fn pledge(runtime: &impl ReadState, owner: AccountOwner) -> Amount {
    runtime.get(&pledge_key(owner)).unwrap_or_default()
}

/// Every backer's pledge, in a stable order.
fn pledges(runtime: &impl ReadState) -> Vec<(AccountOwner, Amount)> {
    runtime
        .find_keys(PLEDGE)
        .into_iter()
        .map(|suffix| {
            let owner: AccountOwner =
                bcs::from_bytes(&suffix).unwrap_or_else(|error| panic!("a stored owner: {error}"));
            (owner, pledge(runtime, owner))
        })
        .collect()
}

fn total(pledges: &[(AccountOwner, Amount)]) -> Amount {
    pledges.iter().fold(Amount::ZERO, |total, (_, amount)| {
        total.try_add(*amount).expect("pledges fit in an amount")
    })
}

/// What the service answers (to any JSON query, `null` for one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// Where it stands.
    pub status: Status,
    /// What was pledged in all.
    pub total: Amount,
    /// What must be pledged.
    pub target: Amount,
    /// When pledges end.
    pub deadline: Timestamp,
    /// Each backer's pledge.
    pub pledges: Vec<(AccountOwner, Amount)>,
}

/// The campaign's service.
pub struct CrowdFundingService {
    runtime: ServiceRuntime,
}

impl Service for CrowdFundingService {
    type Query = serde::de::IgnoredAny;
    type QueryResponse = Campaign;

    fn new(runtime: ServiceRuntime) -> Self {
        CrowdFundingService { runtime }
    }

    fn handle_query(&self, _query: serde::de::IgnoredAny) -> Campaign {
        let parameters: Parameters = self.runtime.parameters();
        let pledges = pledges(&self.runtime);
        Campaign {
            status: self.runtime.get(STATUS).unwrap_or_default(),
            total: total(&pledges),
            target: parameters.target,
            deadline: parameters.deadline,
            pledges,
        }
    }
}

#[cfg(test)]
#[path = "unit_tests.rs"]
mod unit_tests;
