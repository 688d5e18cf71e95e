//! A small social network over pub/sub channels. Each user posts on their own chain; the
//! post is published on the application's `posts` channel there. Following a chain
//! subscribes to that channel: the follower receives the author's latest post at once and
//! every later one, until it unfollows.
//!
//! Its state is a struct of the node's own view types (a log of its posts, a map of the
//! posts received), loaded and saved through the SDK.
//!
//! The two Wasm modules are the binaries `social_contract` and `social_service`. A chain
//! that did not create the application asks for it first (`skein request-application`).

use serde::{Deserialize, Serialize};
use skein_sdk::{
    views::HostStore, ChainId, Contract, ContractRuntime, ReadState, Service, ServiceRuntime,
    Timestamp,
};
use skein_views::{LogView, MapView, View};

/// The channel posts are published on.
pub const POSTS: &str = "posts";

/// Longest post, in bytes.
pub const POST_BYTES_MAX: usize = 280;

/// The application's state on a chain.
#[derive(View)]
pub struct SocialState<S> {
    /// This chain's posts, numbered from 0.
    own: LogView<S, Post>,
    /// The posts received, by author and number.
    received: MapView<S, (ChainId, u64), Post>,
}

impl SocialState<HostStore> {
    fn load(runtime: &impl ReadState) -> Self {
        runtime.load_view(b"")
    }
}

/// What users ask of the application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    /// Publishes a post to this chain's followers.
    Post {
        /// The text, at most [`POST_BYTES_MAX`] bytes.
        text: String,
    },
    /// Follows the posts of another chain.
    Follow {
        /// The author's chain.
        chain_id: ChainId,
    },
    /// Stops following a chain.
    Unfollow {
        /// The author's chain.
        chain_id: ChainId,
    },
}

/// A post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// Its number on its author's chain, from 0.
    pub number: u64,
    /// The text.
    pub text: String,
    /// When it was posted.
    pub timestamp: Timestamp,
}

/// The application's interface: what users send in blocks.
pub struct SocialAbi;

impl skein_sdk::Abi for SocialAbi {
    type Operation = Operation;
    type Response = ();
}

/// The application's contract.
pub struct Social {
    runtime: ContractRuntime,
}

impl Contract for Social {
    type InstantiationArgument = ();
    type Operation = Operation;
    /// What followers receive.
    type Message = Post;
    type Response = ();

    fn new(runtime: ContractRuntime) -> Self {
        Social { runtime }
    }

    fn instantiate(&mut self, (): ()) {}

    fn execute_operation(&mut self, operation: Operation) {
        match operation {
            Operation::Post { text } => {
                assert!(
                    text.len() <= POST_BYTES_MAX,
                    "a post of {} bytes, above the limit of {POST_BYTES_MAX}",
                    text.len()
                );
                let mut state = SocialState::load(&self.runtime);
                let post = Post {
                    number: state.own.count(),
                    text,
                    timestamp: self.runtime.context().timestamp,
                };
                state.own.push(post.clone());
                self.runtime.save_view(&mut state);
                self.runtime.publish(POSTS, &post);
            }
            Operation::Follow { chain_id } => self.runtime.subscribe(chain_id, POSTS),
            Operation::Unfollow { chain_id } => self.runtime.unsubscribe(chain_id, POSTS),
        }
    }

    fn execute_message(&mut self, post: Post) {
        let author = self
            .runtime
            .context()
            .message
            .expect("a message has an origin")
            .origin;
        let mut state = SocialState::load(&self.runtime);
        state.received.insert(&(author, post.number), post);
        self.runtime.save_view(&mut state);
    }
}

/// What the service is asked, as JSON: `"Own"` or `"Feed"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// This chain's posts, oldest first.
    Own,
    /// The posts received from followed chains, by author, oldest first.
    Feed,
}

/// A post with its author's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthoredPost {
    /// The author's chain.
    pub author: ChainId,
    /// The post.
    pub post: Post,
}

/// The application's service.
pub struct SocialService {
    runtime: ServiceRuntime,
}

impl Service for SocialService {
    type Query = Query;
    type QueryResponse = Vec<AuthoredPost>;

    fn new(runtime: ServiceRuntime) -> Self {
        SocialService { runtime }
    }

    fn handle_query(&self, query: Query) -> Vec<AuthoredPost> {
        let state = SocialState::load(&self.runtime);
        let loaded = match query {
            Query::Own => {
                let author = self.runtime.context().chain_id;
                skein_sdk::views::now(state.own.read(0..state.own.count())).map(|posts| {
                    posts
                        .into_iter()
                        .map(|post| AuthoredPost { author, post })
                        .collect()
                })
            }
            Query::Feed => skein_sdk::views::now(state.received.key_values()).map(|posts| {
                let mut posts: Vec<AuthoredPost> = posts
                    .into_iter()
                    .map(|((author, _), post)| AuthoredPost { author, post })
                    .collect();
                posts.sort_by_key(|post| (post.author, post.post.number));
                posts
            }),
        };
        loaded.unwrap_or_else(|error| panic!("the state could not be read: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use skein_sdk::{
        ApplicationId, BlockHeight, CallContext, ChannelRequest, CryptoHash, MessageInfo,
    };

    use super::*;

    fn chain(byte: u8) -> ChainId {
        ChainId(CryptoHash::of_bytes(&[byte]))
    }

    fn context(message: Option<MessageInfo>) -> CallContext {
        CallContext {
            application_id: ApplicationId(CryptoHash::of_bytes(b"social")),
            chain_id: chain(0),
            height: BlockHeight(0),
            timestamp: Timestamp::from_micros(5),
            authenticated_signer: None,
            message,
            authenticated_caller: None,
        }
    }

    #[test]
    fn test_a_post_is_kept_and_published() {
        let mut social = Social::new(ContractRuntime::with_context(context(None)));
        social.execute_operation(Operation::Post { text: "hi".into() });
        let expected = Post {
            number: 0,
            text: "hi".into(),
            timestamp: Timestamp::from_micros(5),
        };
        assert_eq!(
            social.runtime.channel_requests(),
            [ChannelRequest::Publish {
                channel: POSTS.into(),
                message: bcs::to_bytes(&expected).unwrap()
            }]
        );
        let own = SocialService::new(social.runtime.service_runtime()).handle_query(Query::Own);
        assert_eq!(
            own,
            vec![AuthoredPost {
                author: chain(0),
                post: expected
            }]
        );
    }

    #[test]
    fn test_following_subscribes_and_received_posts_form_the_feed() {
        let mut social = Social::new(ContractRuntime::with_context(context(None)));
        social.execute_operation(Operation::Follow { chain_id: chain(1) });
        assert_eq!(
            social.runtime.channel_requests(),
            [ChannelRequest::Subscribe {
                publisher: chain(1),
                channel: POSTS.into()
            }]
        );
        let from = MessageInfo {
            origin: chain(1),
            is_bouncing: false,
        };
        social.runtime.set_context(context(Some(from)));
        for number in [1, 0] {
            social.execute_message(Post {
                number,
                text: format!("post {number}"),
                timestamp: Timestamp::from_micros(number),
            });
        }
        let feed = SocialService::new(social.runtime.service_runtime()).handle_query(Query::Feed);
        let texts: Vec<&str> = feed.iter().map(|post| post.post.text.as_str()).collect();
        assert_eq!(texts, ["post 0", "post 1"], "oldest first");
        assert!(feed.iter().all(|post| post.author == chain(1)));
    }

    #[test]
    #[should_panic(expected = "above the limit")]
    fn test_long_posts_are_refused() {
        let mut social = Social::new(ContractRuntime::with_context(context(None)));
        social.execute_operation(Operation::Post {
            text: "x".repeat(POST_BYTES_MAX + 1),
        });
    }
}
