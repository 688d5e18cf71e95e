//! Generates the gRPC services from Rust types (no .proto files): every message is a Rust
//! type carried as BCS by `crate::codec::BcsCodec`, so the types of `skein-chain` and
//! `skein-core` are the one source of truth for the wire.

use tonic_build::manual::{Builder, Method, Service};

fn method(name: &str, route: &str, input: &str, output: &str) -> Method {
    builder(name, route, input, output).build()
}

fn streaming(name: &str, route: &str, input: &str, output: &str) -> Method {
    builder(name, route, input, output)
        .server_streaming()
        .build()
}

fn builder(
    name: &str,
    route: &str,
    input: &str,
    output: &str,
) -> tonic_build::manual::MethodBuilder {
    Method::builder()
        .name(name)
        .route_name(route)
        .input_type(format!("crate::wire::{input}"))
        .output_type(format!("crate::wire::{output}"))
        .codec_path("crate::codec::BcsCodec")
}

fn node_methods(
    service: tonic_build::manual::ServiceBuilder,
) -> tonic_build::manual::ServiceBuilder {
    service
        .method(method(
            "handle_block_proposal",
            "HandleBlockProposal",
            "BlockProposal",
            "ProposalResponse",
        ))
        .method(method(
            "handle_certificate",
            "HandleCertificate",
            "CertificateRequest",
            "ChainInfoResponse",
        ))
        .method(method(
            "handle_timeout_request",
            "HandleTimeoutRequest",
            "TimeoutRequest",
            "ProposalResponse",
        ))
        .method(method(
            "handle_chain_info_query",
            "HandleChainInfoQuery",
            "ChainInfoQuery",
            "ChainInfoResponse",
        ))
        .method(method(
            "download_certificates",
            "DownloadCertificates",
            "DownloadCertificatesRequest",
            "CertificatesResponse",
        ))
        .method(method(
            "download_blob",
            "DownloadBlob",
            "DownloadBlobRequest",
            "BlobResponse",
        ))
}

fn main() {
    let validator = node_methods(Service::builder().name("Validator").package("skein.rpc"))
        .method(streaming(
            "subscribe",
            "Subscribe",
            "SubscribeRequest",
            "Notification",
        ))
        .build();
    let shard = node_methods(Service::builder().name("Shard").package("skein.rpc"))
        .method(method(
            "handle_cross_chain_request",
            "HandleCrossChainRequest",
            "CrossChainRequest",
            "CrossChainResponse",
        ))
        .method(streaming(
            "notifications",
            "Notifications",
            "SubscribeRequest",
            "Notification",
        ))
        .build();
    Builder::new().compile(&[validator, shard]);
    println!("cargo:rerun-if-changed=build.rs");
}
