//! Pub/sub on four in-process validators: followers get each post once, in order; a late
//! follower gets the latest post and what follows; an unfollower gets nothing new; a chain
//! cannot follow itself.

use skein_base::ApplicationId;
use skein_core::{ChainClient, InProcessNetwork};
use skein_views::MemoryStore;
use social::{AuthoredPost, Operation, Query};

async fn run(
    chain: &ChainClient<MemoryStore>,
    app: ApplicationId,
    operation: Operation,
) -> Result<(), String> {
    chain
        .execute_application_operation(app, bcs::to_bytes(&operation).unwrap())
        .await
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// `chain` follows (or with `follow` false, unfollows) `author`.
async fn follow(
    chain: &ChainClient<MemoryStore>,
    app: ApplicationId,
    author: &ChainClient<MemoryStore>,
    follow: bool,
) -> Result<(), String> {
    let chain_id = author.chain_id();
    let operation = if follow {
        Operation::Follow { chain_id }
    } else {
        Operation::Unfollow { chain_id }
    };
    run(chain, app, operation).await
}

async fn post(chain: &ChainClient<MemoryStore>, app: ApplicationId, text: &str) {
    let text = text.to_string();
    run(chain, app, Operation::Post { text }).await.unwrap();
}

async fn feed(chain: &ChainClient<MemoryStore>, app: ApplicationId) -> Vec<String> {
    chain.process_inbox().await.unwrap();
    let query = serde_json::to_vec(&Query::Feed).unwrap();
    let answer = chain.query_application(app, query).await.unwrap();
    let posts: Vec<AuthoredPost> = serde_json::from_slice(&answer).unwrap();
    posts.into_iter().map(|post| post.post.text).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_followers_receive_posts_published_on_the_channel() {
    let network = InProcessNetwork::for_tests(3).await;
    let (author, early, late) = (
        network.own_chain(0).await,
        network.own_chain(1).await,
        network.own_chain(2).await,
    );
    let dir = env!("CARGO_MANIFEST_DIR");
    let (code, _) = author
        .publish_bytecode(
            skein_sdk::build::wasm_module(dir, "social_contract"),
            skein_sdk::build::wasm_module(dir, "social_service"),
        )
        .await
        .unwrap();
    let (app, _) = author
        .create_application(code, b"null".to_vec(), b"null".to_vec(), Vec::new())
        .await
        .unwrap();

    // A chain that never heard of the application cannot use it: it asks the author.
    let unknown = follow(&early, app, &author, true).await.unwrap_err();
    assert!(unknown.contains("not registered"), "{unknown}");
    early
        .request_application(app, author.chain_id())
        .await
        .unwrap();
    author.process_inbox().await.unwrap();
    early.process_inbox().await.unwrap();

    follow(&early, app, &author, true).await.unwrap();
    author.process_inbox().await.unwrap();
    // Operations may be written in JSON: the service encodes them.
    author
        .execute_application_json(app, br#"{"Post":{"text":"hello"}}"#.to_vec())
        .await
        .unwrap();
    post(&author, app, "second").await;
    assert_eq!(feed(&early, app).await, ["hello", "second"]);

    // A late follower gets the latest post, then what follows.
    late.request_application(app, author.chain_id())
        .await
        .unwrap();
    author.process_inbox().await.unwrap();
    late.process_inbox().await.unwrap();
    follow(&late, app, &author, true).await.unwrap();
    author.process_inbox().await.unwrap();
    assert_eq!(feed(&late, app).await, ["second"]);

    follow(&early, app, &author, false).await.unwrap();
    author.process_inbox().await.unwrap();
    post(&author, app, "third").await;
    assert_eq!(feed(&early, app).await, ["hello", "second"], "unfollowed");
    assert_eq!(feed(&late, app).await, ["second", "third"]);
    // Received once: nothing more arrives.
    assert_eq!(feed(&late, app).await, ["second", "third"]);

    let own = follow(&author, app, &author, true).await.unwrap_err();
    assert!(own.contains("own channels"), "{own}");
}
