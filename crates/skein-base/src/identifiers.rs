//! Identifiers of chains, owners, accounts, applications and blobs.
//!
//! Every identifier is a hash of what it identifies, so identifiers are unique without a
//! registry and can be checked by anyone who knows the description.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{
    crypto::{BcsHashable, CryptoHash, PublicKey},
    data_types::BlockHeight,
};

/// How a chain came to exist. Its hash is the chain's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChainDescription {
    /// One of the chains the genesis configuration creates, numbered from 0.
    Root(u32),
    /// The `sequence`-th chain opened by the `index`-th transaction of the block at
    /// `height` of `parent`. A certified block exists once per height, so this is never
    /// reused.
    Child {
        /// The chain whose block opened this one.
        parent: ChainId,
        /// The height of that block.
        height: BlockHeight,
        /// The index of the opening transaction in that block.
        index: u32,
        /// How many chains that transaction opened before this one: always 0 for the
        /// system's `OpenChain`; applications may open several.
        sequence: u32,
    },
}

impl BcsHashable for ChainDescription {
    const TYPE_TAG: &'static str = "ChainDescription";
}

impl ChainDescription {
    /// The id of the chain so described.
    pub fn id(&self) -> ChainId {
        ChainId(CryptoHash::new(self))
    }
}

/// The unique identifier of a microchain: the hash of its [`ChainDescription`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChainId(pub CryptoHash);

impl ChainId {
    /// The id of the `index`-th genesis chain.
    pub fn root(index: u32) -> Self {
        ChainDescription::Root(index).id()
    }

    /// The id of the (first) chain opened by transaction `index` of block `height` of
    /// `parent`.
    pub fn child(parent: ChainId, height: BlockHeight, index: u32) -> Self {
        ChainDescription::Child {
            parent,
            height,
            index,
            sequence: 0,
        }
        .id()
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "chain:{:?}", self.0)
    }
}

impl FromStr for ChainId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CryptoHash::from_str(text)
            .map(ChainId)
            .map_err(|error| format!("invalid chain id {text:?}: {error}"))
    }
}

/// The identifier of an application: the hash of its
/// [`ApplicationDescription`](crate::ApplicationDescription).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ApplicationId(pub CryptoHash);

impl fmt::Display for ApplicationId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

impl fmt::Debug for ApplicationId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "app:{:?}", self.0)
    }
}

impl FromStr for ApplicationId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CryptoHash::from_str(text)
            .map(ApplicationId)
            .map_err(|error| format!("invalid application id {text:?}: {error}"))
    }
}

/// Who may hold tokens in an account: a user (through a key) or an application. In JSON
/// and other human-readable formats it is its text form (`HASH` or `app:HASH`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountOwner {
    /// The hash of a user's public key.
    User(CryptoHash),
    /// An application, acting through its own code.
    Application(ApplicationId),
}

impl From<&PublicKey> for AccountOwner {
    fn from(key: &PublicKey) -> Self {
        AccountOwner::User(CryptoHash::new(key))
    }
}

impl From<PublicKey> for AccountOwner {
    fn from(key: PublicKey) -> Self {
        AccountOwner::from(&key)
    }
}

const APPLICATION_PREFIX: &str = "app:";

impl fmt::Display for AccountOwner {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountOwner::User(hash) => hash.fmt(formatter),
            AccountOwner::Application(id) => write!(formatter, "{APPLICATION_PREFIX}{id}"),
        }
    }
}

impl fmt::Debug for AccountOwner {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountOwner::User(hash) => write!(formatter, "user:{hash:?}"),
            AccountOwner::Application(id) => id.fmt(formatter),
        }
    }
}

impl FromStr for AccountOwner {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = match text.strip_prefix(APPLICATION_PREFIX) {
            Some(rest) => CryptoHash::from_str(rest)
                .map(|hash| AccountOwner::Application(ApplicationId(hash))),
            None => CryptoHash::from_str(text).map(AccountOwner::User),
        };
        parsed.map_err(|error| format!("invalid owner {text:?}: {error}"))
    }
}

/// The encoding of [`AccountOwner`] in BCS: the derived one, kept apart so that
/// human-readable formats can use the text form.
#[derive(Serialize, Deserialize)]
#[serde(rename = "AccountOwner")]
enum BinaryOwner {
    User(CryptoHash),
    Application(ApplicationId),
}

impl Serialize for AccountOwner {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            return serializer.collect_str(self);
        }
        match *self {
            AccountOwner::User(hash) => BinaryOwner::User(hash),
            AccountOwner::Application(id) => BinaryOwner::Application(id),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AccountOwner {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            return text.parse().map_err(serde::de::Error::custom);
        }
        Ok(match BinaryOwner::deserialize(deserializer)? {
            BinaryOwner::User(hash) => AccountOwner::User(hash),
            BinaryOwner::Application(id) => AccountOwner::Application(id),
        })
    }
}

/// Where tokens are held: the chain's own balance (`owner: None`) or an owner's account on
/// a chain. Written `owner@chain`, or just `chain` for the chain's balance.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Account {
    /// The chain holding the account.
    pub chain_id: ChainId,
    /// The owner of the account, or `None` for the chain's own balance.
    pub owner: Option<AccountOwner>,
}

impl Account {
    /// The chain's own balance.
    pub fn chain(chain_id: ChainId) -> Self {
        Self {
            chain_id,
            owner: None,
        }
    }

    /// An owner's account on a chain.
    pub fn owner(chain_id: ChainId, owner: AccountOwner) -> Self {
        Self {
            chain_id,
            owner: Some(owner),
        }
    }
}

impl fmt::Display for Account {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.owner {
            Some(owner) => write!(formatter, "{owner}@{}", self.chain_id),
            None => self.chain_id.fmt(formatter),
        }
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.owner {
            Some(owner) => write!(formatter, "{owner:?}@{:?}", self.chain_id),
            None => self.chain_id.fmt(formatter),
        }
    }
}

impl FromStr for Account {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once('@') {
            Some((owner, chain)) => Ok(Account::owner(chain.parse()?, owner.parse()?)),
            None => Ok(Account::chain(text.parse()?)),
        }
    }
}

/// What a blob holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BlobType {
    /// Bytes an application published for others to read.
    Data,
    /// Wasm bytecode of a contract.
    ContractBytecode,
    /// Wasm bytecode of a service.
    ServiceBytecode,
}

/// The identifier of a blob: its type and the hash of its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BlobId {
    /// What the blob holds.
    pub blob_type: BlobType,
    /// The hash of the blob's bytes.
    pub hash: CryptoHash,
}

/// Published application code: the blobs of a contract module and of a service module.
/// Applications are created from it, any number of times.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BytecodeId {
    /// The contract's module.
    pub contract: BlobId,
    /// The service's module.
    pub service: BlobId,
}

impl BytecodeId {
    /// The id of the modules `contract` and `service`.
    pub fn of(contract: &[u8], service: &[u8]) -> Self {
        Self {
            contract: BlobId {
                blob_type: BlobType::ContractBytecode,
                hash: CryptoHash::of_bytes(contract),
            },
            service: BlobId {
                blob_type: BlobType::ServiceBytecode,
                hash: CryptoHash::of_bytes(service),
            },
        }
    }
}

/// As text: the two modules' hashes, contract first, joined by `:`.
impl fmt::Display for BytecodeId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.contract.hash, self.service.hash)
    }
}

impl fmt::Debug for BytecodeId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "bytecode:{self}")
    }
}

impl FromStr for BytecodeId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |why: String| format!("invalid bytecode id {text:?}: {why}");
        let (contract, service) = text
            .split_once(':')
            .ok_or_else(|| invalid("expected CONTRACT_HASH:SERVICE_HASH".into()))?;
        let hash =
            |part: &str| CryptoHash::from_str(part).map_err(|error| invalid(error.to_string()));
        Ok(Self {
            contract: BlobId {
                blob_type: BlobType::ContractBytecode,
                hash: hash(contract)?,
            },
            service: BlobId {
                blob_type: BlobType::ServiceBytecode,
                hash: hash(service)?,
            },
        })
    }
}
