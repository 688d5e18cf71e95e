//! Pins the encoding of every refusal a validator sends: clients decode [`ChainError`] (and
//! the errors inside it) from the wire, so a variant added in the middle, removed or
//! reshaped must show as a diff of `errors.snap`, not as a client that misreads an answer.
//! Regenerate with `SKEIN_UPDATE_SNAPSHOTS=1 cargo test -p skein-chain errors`.
//!
//! A new variant, of ChainError or of an error inside it, does not compile until its
//! `*_name` function names it; the samples below then need one of it, in declaration
//! order (the test checks each sample's variant index).

use skein_base::{
    crypto::{CryptoHash, SecretKey},
    AccountOwner, Amount, ApplicationId, ArithmeticError, BlobId, BlobType, BlockHeight, ChainId,
    Epoch, Round, SessionId, Timestamp, ValidatorPublicKey,
};
use skein_execution::{wasm::WasmError, ExecutionError};

use crate::{CertificateError, ChainError, Cursor, InboxError};

const SNAPSHOT: &str = "src/unit_tests/errors.snap";

/// The variant's name; the match is exhaustive so that a new variant is noticed here.
fn chain_error_name(error: &ChainError) -> &'static str {
    match error {
        ChainError::TooManyOperations { .. } => "TooManyOperations",
        ChainError::TooManyIncomingBundles { .. } => "TooManyIncomingBundles",
        ChainError::EmptyBlock => "EmptyBlock",
        ChainError::BlockTooLarge { .. } => "BlockTooLarge",
        ChainError::InvalidProposalSignature(_) => "InvalidProposalSignature",
        ChainError::InactiveChain(_) => "InactiveChain",
        ChainError::ClosedChain => "ClosedChain",
        ChainError::WrongEpoch { .. } => "WrongEpoch",
        ChainError::UnknownEpoch(_) => "UnknownEpoch",
        ChainError::HeightAlreadyCertified { .. } => "HeightAlreadyCertified",
        ChainError::MissingEarlierBlocks { .. } => "MissingEarlierBlocks",
        ChainError::WrongPreviousHash { .. } => "WrongPreviousHash",
        ChainError::NotAllowedToPropose { .. } => "NotAllowedToPropose",
        ChainError::WrongAuthenticatedSigner { .. } => "WrongAuthenticatedSigner",
        ChainError::MismatchedLock => "MismatchedLock",
        ChainError::AlreadyVotedInRound { .. } => "AlreadyVotedInRound",
        ChainError::WrongRound { .. } => "WrongRound",
        ChainError::LockedOnAnotherBlock { .. } => "LockedOnAnotherBlock",
        ChainError::RoundNotTimedOut { .. } => "RoundNotTimedOut",
        ChainError::TimestampBeforePrevious { .. } => "TimestampBeforePrevious",
        ChainError::TimestampInFuture { .. } => "TimestampInFuture",
        ChainError::BundleFromTheFuture { .. } => "BundleFromTheFuture",
        ChainError::UnrejectableBundle { .. } => "UnrejectableBundle",
        ChainError::Inbox { .. } => "Inbox",
        ChainError::MissingCrossChainUpdate { .. } => "MissingCrossChainUpdate",
        ChainError::Execution { .. } => "Execution",
        ChainError::TooManyMessages { .. } => "TooManyMessages",
        ChainError::IncorrectOutcome { .. } => "IncorrectOutcome",
        ChainError::Certificate(_) => "Certificate",
        ChainError::Arithmetic(_) => "Arithmetic",
        ChainError::Storage(_) => "Storage",
        ChainError::OperationsOnPublicChain { .. } => "OperationsOnPublicChain",
        ChainError::ValidatedInFastRound { .. } => "ValidatedInFastRound",
        ChainError::EmptyCrossChainUpdate { .. } => "EmptyCrossChainUpdate",
        ChainError::TooManyBundlesInUpdate { .. } => "TooManyBundlesInUpdate",
        ChainError::BundlesOutOfOrder { .. } => "BundlesOutOfOrder",
        ChainError::RevokedEpoch { .. } => "RevokedEpoch",
        ChainError::EpochStillLive { .. } => "EpochStillLive",
    }
}

/// One of each variant, in declaration order.
fn chain_errors() -> Vec<ChainError> {
    let chain = ChainId::root(0);
    let origin = ChainId::root(1);
    let owner = AccountOwner::from(SecretKey::from_test_seed(1).public());
    let hash = CryptoHash::of_bytes(b"hash");
    let (height, next) = (BlockHeight(3), BlockHeight(4));
    let round = Round::MultiLeader(2);
    let time = Timestamp::from_micros(7);
    let cursor = Cursor { height, index: 1 };
    vec![
        ChainError::TooManyOperations {
            count: 1_001,
            limit: 1_000,
        },
        ChainError::TooManyIncomingBundles {
            count: 1_001,
            limit: 1_000,
        },
        ChainError::EmptyBlock,
        ChainError::BlockTooLarge { size: 5, limit: 4 },
        ChainError::InvalidProposalSignature("bad".into()),
        ChainError::InactiveChain(chain),
        ChainError::ClosedChain,
        ChainError::WrongEpoch {
            expected: Epoch(1),
            found: Epoch(0),
        },
        ChainError::UnknownEpoch(Epoch(9)),
        ChainError::HeightAlreadyCertified {
            height,
            next_block_height: next,
        },
        ChainError::MissingEarlierBlocks {
            chain_id: chain,
            next_block_height: next,
        },
        ChainError::WrongPreviousHash {
            expected: Some(hash),
            found: None,
        },
        ChainError::NotAllowedToPropose { owner, round },
        ChainError::WrongAuthenticatedSigner {
            proposer: owner,
            found: None,
        },
        ChainError::MismatchedLock,
        ChainError::AlreadyVotedInRound { height, round },
        ChainError::WrongRound {
            expected: Round::SingleLeader(0),
            found: Round::Validator(1),
        },
        ChainError::LockedOnAnotherBlock { height, round },
        ChainError::RoundNotTimedOut {
            round: Round::Fast,
            deadline: Some(time),
        },
        ChainError::TimestampBeforePrevious {
            timestamp: time,
            previous: Timestamp::from_micros(8),
        },
        ChainError::TimestampInFuture {
            timestamp: time,
            now: Timestamp::from_micros(1),
        },
        ChainError::BundleFromTheFuture { origin, height },
        ChainError::UnrejectableBundle { origin, height },
        ChainError::Inbox {
            origin,
            error: InboxError::SkippedBundle { expected: cursor },
        },
        ChainError::MissingCrossChainUpdate {
            chain_id: chain,
            origin,
            height,
        },
        ChainError::Execution {
            transaction_index: 2,
            error: ExecutionError::ZeroAmount,
        },
        ChainError::TooManyMessages {
            transaction_index: 2,
            limit: 10,
        },
        ChainError::IncorrectOutcome {
            certified: hash,
            computed: CryptoHash::of_bytes(b"other"),
        },
        ChainError::Certificate(CertificateError::WrongValue),
        ChainError::Arithmetic(ArithmeticError::Overflow),
        ChainError::Storage("disk".into()),
        ChainError::OperationsOnPublicChain { count: 1 },
        ChainError::ValidatedInFastRound { round: Round::Fast },
        ChainError::EmptyCrossChainUpdate { origin },
        ChainError::TooManyBundlesInUpdate {
            origin,
            count: 3_001,
            limit: 3_000,
        },
        ChainError::BundlesOutOfOrder {
            origin,
            previous: cursor,
            next: Cursor { height, index: 0 },
        },
        ChainError::RevokedEpoch {
            epoch: Epoch(1),
            revoked_at: time,
        },
        ChainError::EpochStillLive {
            epoch: Epoch(0),
            found: Epoch(1),
        },
    ]
}

/// The errors carried inside a [`ChainError`], one of each variant in declaration order:
/// (name, the variant's index, its encoding).
fn inner_errors() -> Vec<(String, usize, Vec<u8>)> {
    let validator = ValidatorPublicKey::from(&SecretKey::from_test_seed(2).public());
    let owner = AccountOwner::from(SecretKey::from_test_seed(1).public());
    let application_id = ApplicationId(CryptoHash::of_bytes(b"app"));
    let cursor = Cursor {
        height: BlockHeight(3),
        index: 1,
    };
    let certificate = [
        CertificateError::TooManySignatures {
            count: 300,
            limit: 256,
        },
        CertificateError::DuplicateSigner(validator),
        CertificateError::NotMember(validator),
        CertificateError::InsufficientWeight {
            weight: 2,
            quorum: 3,
        },
        CertificateError::InvalidSignature("bad".into()),
        CertificateError::WrongValue,
    ];
    let inbox = [
        InboxError::AlreadyConsumed { cursor },
        InboxError::SkippedBundle { expected: cursor },
        InboxError::UnexpectedBundle { cursor },
        InboxError::Storage("disk".into()),
    ];
    let wasm = [
        WasmError::InvalidModule("magic".into()),
        WasmError::BytecodeTooLarge { size: 5, limit: 4 },
        WasmError::MissingImport {
            module: "skein".into(),
            name: "log".into(),
        },
        WasmError::MissingExport("execute".into()),
        WasmError::OutOfFuel { limit: 10 },
        WasmError::StackExhausted { limit: 65_536 },
        WasmError::MemoryLimit {
            requested: 5,
            limit: 4,
        },
        WasmError::Aborted("panic".into()),
        WasmError::Trap("unreachable".into()),
        WasmError::Convention("length".into()),
        WasmError::Host("disk".into()),
    ];
    let execution = [
        ExecutionError::InsufficientBalance {
            owner: Some(owner),
            available: Amount::ONE,
            requested: Amount::from_tokens(2),
        },
        ExecutionError::Arithmetic(ArithmeticError::Underflow),
        ExecutionError::ZeroAmount,
        ExecutionError::Unauthorized {
            owner,
            signer: None,
        },
        ExecutionError::NotChainOwner {
            signer: Some(owner),
        },
        ExecutionError::NoOwners,
        ExecutionError::ClosedChain,
        ExecutionError::AlreadyInitialized,
        ExecutionError::Storage("disk".into()),
        ExecutionError::InvalidBytecode("magic".into()),
        ExecutionError::UnknownApplication(application_id),
        ExecutionError::BlobNotFound(BlobId {
            blob_type: BlobType::Data,
            hash: CryptoHash::of_bytes(b"blob"),
        }),
        ExecutionError::InvalidCall("reentrant".into()),
        ExecutionError::LimitExceeded("calls".into()),
        ExecutionError::SessionsNotClosed(vec![SessionId {
            application_id,
            index: 0,
        }]),
        ExecutionError::Application {
            application_id,
            error: WasmError::Trap("unreachable".into()),
        },
        ExecutionError::NotAdminChain {
            admin_chain: Some(ChainId::root(0)),
        },
        ExecutionError::WrongNextEpoch {
            expected: Epoch(2),
            found: Epoch(3),
        },
        ExecutionError::TooManyLiveEpochs { limit: 8 },
        ExecutionError::EpochNotRevocable {
            epoch: Epoch(2),
            current: Epoch(2),
        },
        ExecutionError::EpochNotLive(Epoch(1)),
        ExecutionError::EpochNotNewer {
            epoch: Epoch(1),
            current: Epoch(2),
        },
        ExecutionError::CommitteeNotPublished(Epoch(3)),
    ];
    let mut samples = Vec::new();
    let mut add = |kind: &str, index: usize, name: &str, bytes: Vec<u8>| {
        samples.push((format!("{kind}::{name}"), index, bytes));
    };
    for (index, error) in certificate.iter().enumerate() {
        add(
            "CertificateError",
            index,
            certificate_error_name(error),
            encode(error),
        );
    }
    for (index, error) in inbox.iter().enumerate() {
        add("InboxError", index, inbox_error_name(error), encode(error));
    }
    for (index, error) in wasm.iter().enumerate() {
        add("WasmError", index, wasm_error_name(error), encode(error));
    }
    for (index, error) in execution.iter().enumerate() {
        add(
            "ExecutionError",
            index,
            execution_error_name(error),
            encode(error),
        );
    }
    samples
}

/// The names of the inner errors' variants; each match is exhaustive so that a new variant
/// is noticed here, as [`chain_error_name`] does for [`ChainError`].
fn certificate_error_name(error: &CertificateError) -> &'static str {
    match error {
        CertificateError::TooManySignatures { .. } => "TooManySignatures",
        CertificateError::DuplicateSigner(_) => "DuplicateSigner",
        CertificateError::NotMember(_) => "NotMember",
        CertificateError::InsufficientWeight { .. } => "InsufficientWeight",
        CertificateError::InvalidSignature(_) => "InvalidSignature",
        CertificateError::WrongValue => "WrongValue",
    }
}

fn inbox_error_name(error: &InboxError) -> &'static str {
    match error {
        InboxError::AlreadyConsumed { .. } => "AlreadyConsumed",
        InboxError::SkippedBundle { .. } => "SkippedBundle",
        InboxError::UnexpectedBundle { .. } => "UnexpectedBundle",
        InboxError::Storage(_) => "Storage",
    }
}

fn wasm_error_name(error: &WasmError) -> &'static str {
    match error {
        WasmError::InvalidModule(_) => "InvalidModule",
        WasmError::BytecodeTooLarge { .. } => "BytecodeTooLarge",
        WasmError::MissingImport { .. } => "MissingImport",
        WasmError::MissingExport(_) => "MissingExport",
        WasmError::OutOfFuel { .. } => "OutOfFuel",
        WasmError::StackExhausted { .. } => "StackExhausted",
        WasmError::MemoryLimit { .. } => "MemoryLimit",
        WasmError::Aborted(_) => "Aborted",
        WasmError::Trap(_) => "Trap",
        WasmError::Convention(_) => "Convention",
        WasmError::Host(_) => "Host",
    }
}

fn execution_error_name(error: &ExecutionError) -> &'static str {
    match error {
        ExecutionError::InsufficientBalance { .. } => "InsufficientBalance",
        ExecutionError::Arithmetic(_) => "Arithmetic",
        ExecutionError::ZeroAmount => "ZeroAmount",
        ExecutionError::Unauthorized { .. } => "Unauthorized",
        ExecutionError::NotChainOwner { .. } => "NotChainOwner",
        ExecutionError::NoOwners => "NoOwners",
        ExecutionError::ClosedChain => "ClosedChain",
        ExecutionError::AlreadyInitialized => "AlreadyInitialized",
        ExecutionError::Storage(_) => "Storage",
        ExecutionError::InvalidBytecode(_) => "InvalidBytecode",
        ExecutionError::UnknownApplication(_) => "UnknownApplication",
        ExecutionError::BlobNotFound(_) => "BlobNotFound",
        ExecutionError::InvalidCall(_) => "InvalidCall",
        ExecutionError::LimitExceeded(_) => "LimitExceeded",
        ExecutionError::SessionsNotClosed(_) => "SessionsNotClosed",
        ExecutionError::Application { .. } => "Application",
        ExecutionError::NotAdminChain { .. } => "NotAdminChain",
        ExecutionError::WrongNextEpoch { .. } => "WrongNextEpoch",
        ExecutionError::TooManyLiveEpochs { .. } => "TooManyLiveEpochs",
        ExecutionError::EpochNotRevocable { .. } => "EpochNotRevocable",
        ExecutionError::EpochNotLive(_) => "EpochNotLive",
        ExecutionError::EpochNotNewer { .. } => "EpochNotNewer",
        ExecutionError::CommitteeNotPublished(_) => "CommitteeNotPublished",
    }
}

fn encode(value: &impl serde::Serialize) -> Vec<u8> {
    bcs::to_bytes(value).expect("errors encode")
}

#[test]
fn test_errors_on_the_wire_are_pinned() {
    let mut samples: Vec<(String, usize, Vec<u8>)> = chain_errors()
        .iter()
        .enumerate()
        .map(|(index, error)| {
            (
                format!("ChainError::{}", chain_error_name(error)),
                index,
                encode(error),
            )
        })
        .collect();
    samples.extend(inner_errors());
    for (name, index, bytes) in &samples {
        // Fewer than 128 variants: the index is the first byte (ULEB128).
        assert_eq!(
            usize::from(bytes[0]),
            *index,
            "{name} is not sample {index} of its enum: keep one sample per variant, in order"
        );
    }
    let samples: Vec<(String, Vec<u8>)> = samples
        .into_iter()
        .map(|(name, _, bytes)| (name, bytes))
        .collect();
    crate::snapshot::assert_pinned(SNAPSHOT, &samples);
}
