//! A validator's gRPC endpoint refuses malformed, oversized and invalid requests cleanly,
//! and keeps serving; one client's flood, over however many connections, holds up only
//! that client; its internal shard service serves only the validator's own processes.

use std::{collections::BTreeMap, net::TcpListener, time::Duration};

use bytes::{Buf, BufMut};
use skein_base::{
    crypto::SecretKey, limits, AccountOwner, Amount, BlockHeight, ChainId, Committee, Epoch, Round,
    Timestamp, ValidatorPublicKey, ValidatorState,
};
use skein_chain::{BlockProposal, ChainError, ProposalContent, ProposedBlock};
use skein_chain::{MessageBundle, PostedMessage};
use skein_core::{
    ChainInfoQuery, CrossChainRequest, GenesisChain, GenesisConfig, NodeError, ValidatorNode,
};
use skein_execution::{Message, MessageKind, Operation, SystemMessage, SystemOperation};
use skein_rpc::{
    config::{LoadedValidatorConfig, ShardConfig, ValidatorConfig},
    GrpcShard, GrpcValidatorNode, ShardKey,
};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Sends bytes as they are and reads whatever comes back.
#[derive(Default)]
struct RawCodec;

struct RawEncoder;
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Vec<u8>,
        destination: &mut EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        destination.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, source: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        Ok(Some(source.copy_to_bytes(source.remaining()).to_vec()))
    }
}

async fn raw_call(
    address: &str,
    path: &'static str,
    payload: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    raw_call_on(
        skein_rpc::channel(address).expect("a channel"),
        path,
        payload,
    )
    .await
}

async fn raw_call_on(
    channel: tonic::transport::Channel,
    path: &'static str,
    payload: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel).max_encoding_message_size(64 << 20);
    grpc.ready()
        .await
        .map_err(|error| tonic::Status::unavailable(error.to_string()))?;
    grpc.unary(
        tonic::Request::new(payload),
        tonic::codegen::http::uri::PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .map(tonic::Response::into_inner)
}

fn free_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", listener.local_addr().unwrap().port())
}

/// A one-validator network in memory with `shards` shards and one genesis chain of 5
/// tokens owned by `owner_key`.
fn one_validator(owner_key: &SecretKey, shards: usize) -> LoadedValidatorConfig {
    let key = SecretKey::from_test_seed(1);
    let address = free_address();
    let genesis = GenesisConfig {
        admin_chain: 0,
        committee: Committee::new(BTreeMap::from([(
            ValidatorPublicKey::from(&key.public()),
            ValidatorState {
                network_address: address.clone(),
                votes: 1,
            },
        )]))
        .unwrap(),
        chains: vec![GenesisChain {
            owner: AccountOwner::from(owner_key.public()),
            balance: Amount::from_tokens(5),
        }],
        timestamp: Timestamp::default(),
    };
    LoadedValidatorConfig {
        config: ValidatorConfig {
            name: "robust".into(),
            key_file: "unused".into(),
            previous_key_files: Vec::new(),
            public_address: address,
            storage: "memory".into(),
            shards: (0..shards)
                .map(|_| ShardConfig {
                    address: free_address(),
                })
                .collect(),
            genesis_file: "unused".into(),
            shard_key_file: None,
        },
        key,
        previous_keys: Vec::new(),
        genesis,
        storage: "memory".parse().unwrap(),
        shard_key: None,
    }
}

/// Asks `node` about `chain` until it answers.
async fn wait_until_serving(node: &impl ValidatorNode, chain: ChainId) {
    for _ in 0..100 {
        if node
            .handle_chain_info_query(ChainInfoQuery::new(chain))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server does not answer");
}

/// A one-validator network serving over gRPC, in this process.
struct Running {
    address: String,
    node: GrpcValidatorNode,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), skein_rpc::ServerError>>,
}

impl Running {
    /// Starts [`one_validator`] with `shards` shards and waits until it answers.
    async fn start(owner_key: &SecretKey, shards: usize) -> Self {
        let config = one_validator(owner_key, shards);
        let address = config.config.public_address.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(skein_rpc::run_validator(config, async {
            let _ = stopped.await;
        }));
        let node = GrpcValidatorNode::new(&address).unwrap();
        wait_until_serving(&node, GenesisConfig::chain_id(0)).await;
        Self {
            address,
            node,
            stop,
            server,
        }
    }

    /// Stops the server; it must have run without error.
    async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_malformed_and_oversized_requests_are_refused_cleanly() {
    let owner_key = SecretKey::from_test_seed(2);
    let running = Running::start(&owner_key, 2).await;
    let (address, node) = (&running.address, &running.node);
    let chain = GenesisConfig::chain_id(0);

    // Bytes that are not a proposal.
    let status = raw_call(
        address,
        "/skein.rpc.Validator/HandleBlockProposal",
        vec![0xff; 40],
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status}");
    // A valid encoding of something else.
    let query = bcs::to_bytes(&ChainInfoQuery::new(chain)).unwrap();
    let status = raw_call(address, "/skein.rpc.Validator/HandleCertificate", query)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status}");
    // More than any request may be.
    let status = raw_call(
        address,
        "/skein.rpc.Validator/HandleBlockProposal",
        vec![0; limits::REQUEST_BYTES_MAX + 1],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            status.code(),
            tonic::Code::OutOfRange | tonic::Code::ResourceExhausted | tonic::Code::InvalidArgument
        ),
        "{status}"
    );
    // A well-formed proposal with a forged signature: refused by the rules, with the rule.
    let block = ProposedBlock {
        chain_id: chain,
        epoch: Epoch::ZERO,
        height: BlockHeight(0),
        timestamp: Timestamp::default(),
        authenticated_signer: None,
        previous_block_hash: None,
        incoming_bundles: Vec::new(),
        operations: vec![Operation::System(SystemOperation::Transfer {
            owner: None,
            recipient: skein_base::Account::chain(ChainId::root(7)),
            amount: Amount::ONE,
        })],
    };
    let mut proposal = BlockProposal::new(
        ProposalContent {
            block: block.clone(),
            round: Round::Fast,
        },
        &owner_key,
    );
    proposal.signature = BlockProposal::new(
        ProposalContent {
            block: ProposedBlock {
                height: BlockHeight(9),
                ..block
            },
            round: Round::Fast,
        },
        &owner_key,
    )
    .signature;
    let error = node.handle_block_proposal(proposal).await.unwrap_err();
    assert!(
        matches!(
            error,
            NodeError::Chain(ChainError::InvalidProposalSignature(_))
        ),
        "{error:?}"
    );
    // A download of too many certificates.
    let error = node
        .download_certificates(vec![
            skein_base::crypto::CryptoHash::of_bytes(b"x");
            limits::CERTIFICATES_PER_QUERY_MAX + 1
        ])
        .await
        .unwrap_err();
    assert!(matches!(error, NodeError::InvalidRequest(_)), "{error:?}");
    // A blob nobody published.
    let blob = skein_base::BlobId {
        blob_type: skein_base::BlobType::Data,
        hash: skein_base::crypto::CryptoHash::of_bytes(b"none"),
    };
    assert_eq!(node.download_blob(blob).await.unwrap(), None);

    // Still serving.
    let info = node
        .handle_chain_info_query(ChainInfoQuery::new(chain))
        .await
        .unwrap();
    assert_eq!(info.chain_balance, Amount::from_tokens(5));
    running.stop().await;
}

/// A channel (one connection) to `address` from the local address `from`.
fn channel_from(address: &str, from: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .local_address(Some(from.parse().unwrap()))
        .connect_lazy()
}

/// A chain-info query from `from` on a connection of its own: whether it was answered
/// within `patience`.
async fn answered_within(address: &str, from: &str, patience: Duration) -> bool {
    let query = bcs::to_bytes(&ChainInfoQuery::new(GenesisConfig::chain_id(0))).unwrap();
    let call = raw_call_on(
        channel_from(address, from),
        "/skein.rpc.Validator/HandleChainInfoQuery",
        query,
    );
    match tokio::time::timeout(patience, call).await {
        Ok(answer) => {
            answer.expect("a chain-info query is answered");
            true
        }
        Err(_) => false,
    }
}

/// A request that opens its stream and never sends its message (a slow or hostile client):
/// it holds a handler until the server's request timeout.
async fn hung_request(channel: tonic::transport::Channel) {
    let mut grpc = tonic::client::Grpc::new(channel);
    if grpc.ready().await.is_err() {
        return;
    }
    let _ = grpc
        .client_streaming(
            tonic::Request::new(futures::stream::pending::<Vec<u8>>()),
            tonic::codegen::http::uri::PathAndQuery::from_static(
                "/skein.rpc.Validator/HandleChainInfoQuery",
            ),
            RawCodec,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_flood_over_many_connections_holds_up_only_its_sender() {
    let running = Running::start(&SecretKey::from_test_seed(2), 1).await;
    let address = running.address.as_str();
    let patience = Duration::from_secs(5);
    assert!(answered_within(address, "127.0.0.2", patience).await);

    // 127.0.0.2 floods: ten connections, twenty requests each that never send their
    // message, well within what one connection may have open.
    let flood: Vec<_> = (0..10)
        .flat_map(|_| {
            let channel = channel_from(address, "127.0.0.2");
            (0..20).map(move |_| tokio::spawn(hung_request(channel.clone())))
        })
        .collect();
    // Once its requests are in, a new connection of the flooder's waits behind them...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while answered_within(address, "127.0.0.2", Duration::from_millis(500)).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the flooder's new connections are served at once"
        );
    }
    assert!(!answered_within(address, "127.0.0.2", Duration::from_secs(2)).await);
    // ...while other clients are served as before.
    for _ in 0..5 {
        assert!(answered_within(address, "127.0.0.3", patience).await);
    }
    assert!(answered_within(address, "127.0.0.1", patience).await);

    // The flood given up: the flooder is served again.
    for request in flood {
        request.abort();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !answered_within(address, "127.0.0.2", patience).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the flooder is not served again"
        );
    }
    running.stop().await;
}

/// Cross-chain requests a shard takes without other proof: one that credits a chain with
/// tokens nobody sent.
fn forged_credit(recipient: ChainId) -> CrossChainRequest {
    CrossChainRequest::UpdateRecipient {
        sender: ChainId::root(7),
        recipient,
        bundles: vec![MessageBundle {
            height: BlockHeight(0),
            timestamp: Timestamp::default(),
            block_hash: skein_base::crypto::CryptoHash::of_bytes(b"no such block"),
            transaction_index: 0,
            messages: vec![PostedMessage {
                authenticated_signer: None,
                kind: MessageKind::Tracked,
                message: Message::System(SystemMessage::Credit {
                    source: None,
                    target: None,
                    amount: Amount::from_tokens(1_000_000),
                }),
            }],
        }],
    }
}

async fn pending_bundles(shard: &GrpcShard, chain: ChainId) -> usize {
    let mut query = ChainInfoQuery::new(chain);
    query.request_pending_bundles = true;
    let info = shard.handle_chain_info_query(query).await.unwrap();
    info.requested_pending_bundles.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_the_shard_service_refuses_whoever_lacks_the_shard_key() {
    let owner_key = SecretKey::from_test_seed(2);
    let mut config = one_validator(&owner_key, 1);
    let shard_address = config.config.shards[0].address.clone();

    // Without a key, a shard does not start: it would serve anyone.
    let error = skein_rpc::run_shard(one_validator(&owner_key, 1), 0, async {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("shard_key_file"), "{error}");

    let key = ShardKey::generate();
    config.shard_key = Some(key.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(skein_rpc::run_shard(config, 0, async {
        let _ = stopped.await;
    }));
    let chain = GenesisConfig::chain_id(0);
    let own = GrpcShard::new(&shard_address, &key).unwrap();
    wait_until_serving(&own, chain).await;

    // A stranger with another key, and one with none, are refused: nothing reaches the inbox.
    let stranger = GrpcShard::new(&shard_address, &ShardKey::generate()).unwrap();
    let error = stranger
        .handle_cross_chain_request(forged_credit(chain))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, NodeError::InvalidRequest(reason) if reason.contains("shard key")),
        "{error:?}"
    );
    let error = stranger
        .handle_chain_info_query(ChainInfoQuery::new(chain))
        .await
        .unwrap_err();
    assert!(matches!(error, NodeError::InvalidRequest(_)), "{error:?}");
    let status = raw_call(
        &shard_address,
        "/skein.rpc.Shard/HandleCrossChainRequest",
        bcs::to_bytes(&forged_credit(chain)).unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status}");
    assert_eq!(pending_bundles(&own, chain).await, 0);

    // The validator's own processes are trusted with the same request, which is why the
    // key matters.
    own.handle_cross_chain_request(forged_credit(chain))
        .await
        .unwrap();
    assert_eq!(pending_bundles(&own, chain).await, 1);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
