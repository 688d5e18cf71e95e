//! Writes the seed inputs of every fuzz target under `fuzz/seeds/`: one valid input of
//! each kind, made by a real network (a transfer's proposal and certificate, a validator's
//! answers) and real files (genesis, configuration, wallet, keys), so that fuzzing starts
//! from messages that get all the way through their decoders. Wasm modules to start from
//! are given as arguments.
//!
//! Run: `cargo run -p skein-fuzz --example write_seeds -- [MODULE.wasm ...]`

use std::path::{Path, PathBuf};

use serde::Serialize;
use skein_base::{
    crypto::{CryptoHash, SecretKey},
    Account, Amount, BlobId, BlobType, BlockHeight, ChainId, Round, Timestamp,
};
use skein_chain::{AnyCertificate, BlockProposal, ProposalContent, ProposedBlock};
use skein_core::{
    ChainInfoQuery, CrossChainRequest, Notification, NotificationReason, TimeoutRequest,
    ValidatorNode,
};
use skein_execution::{Operation, SystemOperation};
use skein_rpc::{
    config::{KeyFile, ShardConfig, ValidatorConfig},
    wire::{DownloadBlobRequest, DownloadCertificatesRequest, SubscribeRequest},
    ShardKey,
};

fn seeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds")
}

/// Writes `fuzz/seeds/TARGET/NAME`: the choice byte, then `bytes`.
fn write(target: &str, name: &str, choice: u8, bytes: &[u8]) {
    let directory = seeds().join(target);
    std::fs::create_dir_all(&directory).expect("the seeds directory");
    let mut content = vec![choice];
    content.extend_from_slice(bytes);
    std::fs::write(directory.join(name), content).expect("a seed file");
}

fn bcs(value: &impl Serialize) -> Vec<u8> {
    bcs::to_bytes(value).expect("encodes")
}

fn transfer(chain_id: ChainId, height: u64, previous: Option<CryptoHash>) -> ProposalContent {
    ProposalContent {
        block: ProposedBlock {
            chain_id,
            epoch: skein_base::Epoch::ZERO,
            height: BlockHeight(height),
            timestamp: Timestamp::default(),
            authenticated_signer: None,
            previous_block_hash: previous,
            incoming_bundles: Vec::new(),
            operations: vec![Operation::System(SystemOperation::Transfer {
                owner: None,
                recipient: Account::chain(ChainId::root(1)),
                amount: Amount::ONE,
            })],
        },
        round: Round::Fast,
    }
}

fn main() {
    let harness = skein_fuzz::validator::harness();
    let network = &harness.network;
    let chain = network.chain_id(0);
    let owner = network.owner_key(0);

    let first = transfer(chain, 0, None);
    let proposal = BlockProposal::new(first.clone(), &owner);
    write("validator", "signed-transfer", 1, &bcs(&first));
    write("validator", "proposal", 0, &bcs(&proposal));
    write("wire", "proposal", 0, &bcs(&proposal));

    // A real certificate: a client's transfer on the same network.
    let certificate = harness.runtime.block_on(async {
        let client = network.own_chain(0).await;
        client
            .transfer(None, Amount::ONE, Account::chain(network.chain_id(1)))
            .await
            .expect("the transfer is certified")
    });
    let any: AnyCertificate = certificate.clone().into_unchecked().into();
    write("validator", "certificate", 2, &bcs(&any));
    write("wire", "certificate", 1, &bcs(&any));
    write("certificate", "confirmed", 0, &bcs(&any_confirmed(&any)));
    write("certificate", "any", 1, &bcs(&any));

    let timeout = TimeoutRequest {
        chain_id: chain,
        height: BlockHeight(1),
        round: Round::MultiLeader(0),
        epoch: skein_base::Epoch::ZERO,
    };
    write("validator", "timeout", 3, &bcs(&timeout));
    write("wire", "timeout", 2, &bcs(&timeout));
    let query = ChainInfoQuery {
        request_pending_bundles: true,
        request_received_log_from: Some(0),
        request_certificates_from: Some(BlockHeight(0)),
        request_owner_balance: Some(network.owner(0)),
        request_committees: true,
        ..ChainInfoQuery::new(network.chain_id(1))
    };
    write("validator", "query", 4, &bcs(&query));
    write("wire", "query", 3, &bcs(&query));
    let hashes = vec![certificate.hash(), CryptoHash::of_bytes(b"none")];
    write("validator", "download-certificates", 5, &bcs(&hashes));
    write(
        "wire",
        "download-certificates",
        4,
        &bcs(&DownloadCertificatesRequest { hashes }),
    );
    let blob_id = BlobId {
        blob_type: BlobType::ContractBytecode,
        hash: CryptoHash::of_bytes(b"module"),
    };
    write("validator", "download-blob", 6, &bcs(&blob_id));
    write(
        "wire",
        "download-blob",
        5,
        &bcs(&DownloadBlobRequest { blob_id }),
    );
    let subscribe = SubscribeRequest {
        chain_ids: vec![chain, network.chain_id(1)],
    };
    write("wire", "subscribe", 6, &bcs(&subscribe));
    let validator = network.validator(1);
    let (vote, info, bundles) = harness.runtime.block_on(async {
        let second = transfer(chain, 1, Some(certificate.hash()));
        let vote = validator
            .handle_block_proposal(BlockProposal::new(second, &owner))
            .await;
        let info = validator.handle_chain_info_query(query.clone()).await;
        let mut recipient = ChainInfoQuery::new(network.chain_id(1));
        recipient.request_pending_bundles = true;
        let bundles = validator
            .handle_chain_info_query(recipient)
            .await
            .expect("the recipient's inbox")
            .requested_pending_bundles;
        (vote, info, bundles)
    });
    let update = CrossChainRequest::UpdateRecipient {
        sender: chain,
        recipient: network.chain_id(1),
        bundles: bundles.into_iter().map(|(_, bundle)| bundle).collect(),
    };
    write("wire", "cross-chain", 7, &bcs(&update));
    write("wire", "vote", 8, &bcs(&vote));
    write("wire", "chain-info", 9, &bcs(&info));
    let certificates: skein_rpc::wire::CertificatesResponse = Ok(vec![any_confirmed(&any)]);
    write("wire", "certificates", 10, &bcs(&certificates));
    let blob: skein_rpc::wire::BlobResponse = Ok(Some(b"\0asm\x01\0\0\0".to_vec()));
    write("wire", "blob", 11, &bcs(&blob));
    let refused: skein_rpc::wire::CrossChainResponse =
        Err(skein_core::NodeError::InvalidRequest("refused".into()));
    write("wire", "cross-chain-answer", 12, &bcs(&refused));
    let notification = Notification {
        chain_id: chain,
        reason: NotificationReason::NewBlock {
            height: BlockHeight(0),
            hash: certificate.hash(),
        },
    };
    write("wire", "notification", 13, &bcs(&notification));

    files(network);

    write("wasm", "empty-module", 0, b"\0asm\x01\0\0\0");
    for (index, path) in std::env::args().skip(1).enumerate() {
        let module = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
        // The choice byte is not read by the Wasm target: the file is the module.
        let directory = seeds().join("wasm");
        std::fs::write(directory.join(format!("module-{index}")), module).expect("a seed");
    }
    println!("wrote the seeds under {}", seeds().display());
}

fn any_confirmed(
    any: &AnyCertificate,
) -> skein_chain::UncheckedCertificate<skein_chain::ConfirmedBlock> {
    match any {
        AnyCertificate::Confirmed(certificate) => certificate.clone(),
        _ => unreachable!("a transfer's certificate is a confirmed one"),
    }
}

/// The files: each as the programs write it.
fn files(network: &skein_core::InProcessNetwork<skein_views::MemoryStore>) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let genesis_path = directory.path().join("genesis.json");
    skein_rpc::config::save_genesis(&network.genesis, &genesis_path).expect("a genesis file");
    write(
        "files",
        "genesis",
        0,
        &std::fs::read(&genesis_path).expect("read"),
    );
    let config = ValidatorConfig {
        name: "validator-0".into(),
        key_file: "validator.key.json".into(),
        previous_key_files: Vec::new(),
        public_address: "127.0.0.1:9000".into(),
        storage: "embedded:validator-0-data?nosync".into(),
        shards: vec![ShardConfig {
            address: "127.0.0.1:9001".into(),
        }],
        genesis_file: "genesis.json".into(),
        shard_key_file: Some("shard.key".into()),
    };
    let config_path = directory.path().join("validator.toml");
    config.save(&config_path).expect("a configuration");
    write(
        "files",
        "validator-config",
        1,
        &std::fs::read(&config_path).expect("read"),
    );
    let wallet_path = directory.path().join("wallet.json");
    {
        let mut wallet =
            skein_service::wallet::Wallet::create(&wallet_path, network.genesis.clone())
                .expect("a wallet");
        let key = wallet.add_key(SecretKey::from_test_seed(2_000));
        wallet.add_chain(network.chain_id(0), key);
        wallet.save().expect("the wallet saves");
    }
    write(
        "files",
        "wallet",
        2,
        &std::fs::read(&wallet_path).expect("read"),
    );
    let key_path = directory.path().join("validator.key.json");
    KeyFile::generate().save(&key_path).expect("a key file");
    write("files", "key", 3, &std::fs::read(&key_path).expect("read"));
    let shard_key_path = directory.path().join("shard.key");
    ShardKey::generate()
        .save(&shard_key_path)
        .expect("a shard key");
    write(
        "files",
        "shard-key",
        4,
        &std::fs::read(&shard_key_path).expect("read"),
    );
    for (index, uri) in [
        "memory",
        "embedded:data?nosync",
        "lsm:/var/lib/skein",
        "postgres://skein@localhost/skein?table=validator_0",
    ]
    .iter()
    .enumerate()
    {
        write("files", &format!("storage-uri-{index}"), 5, uri.as_bytes());
    }
}
