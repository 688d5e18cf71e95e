//! Every bound Skein enforces, in one place, each with the reason for its value.
//!
//! Inputs that cross a process boundary are checked against these before any work is done,
//! and breaking one is an error that names it.

/// Largest request or response a node decodes: a block of the largest size plus its
/// certificate and some headroom.
pub const REQUEST_BYTES_MAX: usize = 8 << 20;

/// Largest encoded proposed block. Large enough for a thousand transfers with their
/// messages, small enough that a validator executes one in milliseconds.
pub const BLOCK_BYTES_MAX: usize = 4 << 20;

/// Largest encoded block with its outcome (the messages it sends) that a client signs: its
/// certificate, with every signature a committee may have, must still fit in a request, or
/// no validator could be given it.
pub const CERTIFIED_BLOCK_BYTES_MAX: usize = REQUEST_BYTES_MAX - (1 << 20);

/// Bytes of certificates or bundles a validator puts in one answer: the rest of the
/// answer and its framing fit in what is left of [`REQUEST_BYTES_MAX`]. Lists longer than
/// this are answered a page at a time.
pub const RESPONSE_BYTES_MAX: usize = REQUEST_BYTES_MAX - (256 << 10);

/// Operations in one block. A thousand transfers per block is far beyond what amortises the
/// signature cost.
pub const OPERATIONS_PER_BLOCK_MAX: usize = 1_000;

/// Incoming bundles picked in one block; bounds the work of executing a block.
pub const INCOMING_BUNDLES_PER_BLOCK_MAX: usize = 1_000;

/// Messages one transaction may send; bounds the size of a bundle.
pub const MESSAGES_PER_TRANSACTION_MAX: usize = 1_000;

/// Signatures in one certificate: far above any committee we expect, but bounded so that a
/// forged certificate cannot make a validator verify millions of signatures.
pub const SIGNATURES_PER_CERTIFICATE_MAX: usize = 1_000;

/// Validators in one committee: each vote is a signature every validator and client checks,
/// and a certificate carries a quorum of them, so a committee's size is paid on every
/// block. Well within [`SIGNATURES_PER_CERTIFICATE_MAX`].
pub const COMMITTEE_VALIDATORS_MAX: usize = 128;

/// Epochs a chain trusts at once (the newest and those not yet revoked). The admin chain
/// creates no committee past this until an old epoch is revoked, so a chain's list of
/// committees, copied into every chain it opens, stays small.
pub const LIVE_EPOCHS_MAX: usize = 8;

/// How long after its revocation (in microseconds of block time) a revoked epoch's blocks
/// are still honoured as the origin of incoming messages: a week, so that a message sent
/// just before a reconfiguration reaches even a chain idle for days, while a long-range
/// attacker holding old keys gains nothing once that week is over.
pub const REVOKED_EPOCH_HONOURED_MICROS: u64 = 7 * 24 * 3_600 * 1_000_000;

/// How long after its revocation (in microseconds, by the validator's clock) a revoked
/// epoch's committee still votes for blocks of that epoch: ten minutes, so that a block
/// signed just before a reconfiguration, which some validators voted for already, can
/// still be certified instead of holding its height for good; after that only a block
/// migrating to a later epoch extends such a chain.
pub const REVOKED_EPOCH_VOTES_GRACE_MICROS: u64 = 10 * 60 * 1_000_000;

/// Certificates returned by one query, and uploaded in one go by a client.
pub const CERTIFICATES_PER_QUERY_MAX: usize = 500;

/// Bundles carried by one cross-chain request; a recipient that fell far behind catches up
/// in several requests.
pub const BUNDLES_PER_CROSS_CHAIN_REQUEST_MAX: usize = 500;

/// Bundles a received cross-chain update may carry: updates hold whole heights, so one may
/// exceed [`BUNDLES_PER_CROSS_CHAIN_REQUEST_MAX`] by up to one block's transactions.
pub const BUNDLES_PER_CROSS_CHAIN_UPDATE_MAX: usize =
    BUNDLES_PER_CROSS_CHAIN_REQUEST_MAX + OPERATIONS_PER_BLOCK_MAX + INCOMING_BUNDLES_PER_BLOCK_MAX;

/// Received-log entries returned by one query.
pub const RECEIVED_LOG_ENTRIES_PER_QUERY_MAX: usize = 5_000;

/// Pending bundles returned by one query.
pub const PENDING_BUNDLES_PER_QUERY_MAX: usize = 1_000;

/// How far in the future a block's timestamp may be, in microseconds, before validators
/// refuse it: clocks on the Internet drift by tens of milliseconds; a second tolerates that.
pub const TIMESTAMP_GRACE_MICROS: u64 = 1_000_000;

/// Most keys one `find_keys` host call lists: the scan stops there, and a call under a
/// prefix holding more fails (list such state by longer prefixes).
pub const APPLICATION_KEYS_PER_SCAN_MAX: usize = 10_000;

/// Most chains the applications of one transaction may open: each is stored by every
/// validator for good (and costs `OPEN_CHAIN_FUEL`).
pub const OPENED_CHAINS_PER_TRANSACTION_MAX: usize = 16;

/// Most owners a chain an application opens may have: every block of that chain carries
/// them in its state.
pub const OPENED_CHAIN_OWNERS_MAX: usize = 32;

/// Largest parameters of an application: they travel with its registration to every
/// chain it reaches.
pub const APPLICATION_PARAMETERS_BYTES_MAX: usize = 64 << 10;

/// What the messages of one transaction's applications may carry in all (a publication
/// counts once per subscriber): keeps a block's outcome, and so its certificate, within
/// what a node sends and receives.
pub const APPLICATION_MESSAGE_BYTES_PER_TRANSACTION_MAX: usize = 1 << 20;

/// Largest blob a client may publish.
pub const BLOB_BYTES_MAX: usize = 3 << 20;

const _: () = assert!(BLOCK_BYTES_MAX < CERTIFIED_BLOCK_BYTES_MAX);
const _: () = assert!(CERTIFIED_BLOCK_BYTES_MAX < RESPONSE_BYTES_MAX);
const _: () = assert!(BLOB_BYTES_MAX < REQUEST_BYTES_MAX);
const _: () =
    assert!(OPERATIONS_PER_BLOCK_MAX + INCOMING_BUNDLES_PER_BLOCK_MAX <= u32::MAX as usize);

/// Largest application module (a contract or a service), in bytes: it travels in a blob,
/// and compiling it must stay a matter of milliseconds.
pub const BYTECODE_BYTES_MAX: usize = 3 << 20;

/// Linear memory an application instance may grow to. Generous for a contract, small
/// enough that a validator runs many at once.
pub const WASM_MEMORY_BYTES_MAX: usize = 32 << 20;

/// Fuel (about one unit per Wasm instruction) the applications of one block may burn in
/// all: about a tenth of a second of execution.
pub const FUEL_PER_BLOCK_MAX: u64 = 200_000_000;

/// Fuel one query to an application's service may burn: queries are not paid for, but a
/// service that loops must not hold a node.
pub const FUEL_PER_QUERY_MAX: u64 = 100_000_000;

// Execution. Every validator must count these alike, or they disagree on a block's outcome:
// changing one is a change of the protocol, for a new epoch.

/// How deep calls between applications may nest.
pub const APPLICATION_CALL_DEPTH_MAX: usize = 16;

/// Stack units a Wasm call chain may hold, each about 8 bytes of values: the depth at which
/// a guest fails follows from its bytes, not from the machine.
pub const WASM_STACK_UNITS_MAX: u32 = 1 << 16;

/// Stack units every Wasm call costs besides its values: return address, saved registers
/// and the thunk's own frame.
pub const WASM_FRAME_UNITS: u32 = 8;

/// Table elements (function pointers) a Wasm module may have.
pub const WASM_TABLE_ELEMENTS_MAX: u32 = 100_000;

/// Largest key an application may use.
pub const APPLICATION_KEY_BYTES_MAX: usize = 1 << 10;

/// Largest value an application may store under one key.
pub const APPLICATION_VALUE_BYTES_MAX: usize = 1 << 20;

/// Largest result a call may output: what a response or query answer may carry.
pub const CALL_OUTPUT_BYTES_MAX: usize = 1 << 20;

/// Largest message (or call argument) an application may pass to the host.
pub const APPLICATION_MESSAGE_BYTES_MAX: usize = 1 << 20;

/// Longest channel name, in bytes.
pub const CHANNEL_NAME_BYTES_MAX: usize = 64;

/// Nesting allowed inside decoded values; our types nest a handful of levels.
pub const ENCODING_DEPTH_MAX: usize = 64;

/// The multi-leader rounds of a chain an application opens for several owners, before
/// single-leader rounds settle a contested height.
pub const OPENED_CHAIN_MULTI_LEADER_ROUNDS: u32 = 3;

/// What a host call costs in fuel besides one unit per byte it moves: enough that a loop
/// of host calls costs as much as real work.
pub const HOST_CALL_FUEL: u64 = 1_000;

/// What a call to another application or into a session costs besides its bytes and the
/// callee's own fuel: setting up an instance and reading the callee's description is work
/// no instruction pays for (about 10–20 µs).
pub const APPLICATION_CALL_FUEL: u64 = 50_000;

/// What opening a chain costs besides its bytes: every validator stores the new chain for
/// good, so a block can afford a few hundred at most.
pub const OPEN_CHAIN_FUEL: u64 = 1_000_000;

/// Fuel every instantiation costs, for the instance slot it takes and resets.
pub const INSTANTIATION_FUEL: u64 = 10_000;

/// Fuel a publication costs per byte of its modules, from the block's budget: checking
/// and compiling them is work every validator does. Two modules of the largest size
/// still fit in one block.
pub const PUBLICATION_FUEL_PER_BYTE: u64 = 30;

const _: () =
    assert!(2 * BYTECODE_BYTES_MAX as u64 * PUBLICATION_FUEL_PER_BYTE <= FUEL_PER_BLOCK_MAX);
