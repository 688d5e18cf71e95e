//! A small social network over pub/sub channels. Each user posts on their own chain; the
//! post is published on the application's `posts` channel there. Following a chain
//! subscribes to that channel: the follower receives the author's latest post at once and
//! every later one, until it unfollows.
//!
//! The two Wasm modules are the binaries `social_contract` and `social_service`. A chain
//! that did not create the application asks for it first (`skein request-application`).

use serde::{Deserialize, Serialize};
use skein_sdk::{
    ChainId, Contract, ContractRuntime, ReadState, Service, ServiceRuntime, Timestamp,
};

/// The channel posts are published on.
pub const POSTS: &str = "posts";

/// Longest post, in bytes.
pub const POST_BYTES_MAX: usize = 280;

/// Own posts: this prefix, then the post's number (big endian, so keys sort in order).
const OWN: &[u8] = b"O";
/// Received posts: this prefix, the author's chain (BCS), then the post's number there.
const RECEIVED: &[u8] = b"R";
/// How many posts this chain published.
const OWN_COUNT: &[u8] = b"N";

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
                let number: u64 = self.runtime.get(OWN_COUNT).unwrap_or(0);
                let post = Post {
                    number,
                    text,
                    timestamp: self.runtime.context().timestamp,
                };
                self.runtime.set(&own_key(number), &post);
                self.runtime.set(OWN_COUNT, &(number + 1));
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
        self.runtime.set(&received_key(author, post.number), &post);
    }
}

fn own_key(number: u64) -> Vec<u8> {
    [OWN, &number.to_be_bytes()].concat()
}

fn received_key(author: ChainId, number: u64) -> Vec<u8> {
    let author = bcs::to_bytes(&author).expect("a chain id encodes");
    [RECEIVED, &author, &number.to_be_bytes()].concat()
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
        let prefix = match query {
            Query::Own => OWN,
            Query::Feed => RECEIVED,
        };
        let own_chain = self.runtime.context().chain_id;
        self.runtime
            .find_keys(prefix)
            .into_iter()
            .map(|suffix| {
                let key = [prefix, &suffix].concat();
                let post: Post = self.runtime.get(&key).expect("a listed post");
                let author = match query {
                    Query::Own => own_chain,
                    Query::Feed => bcs::from_bytes(&suffix[..suffix.len() - 8])
                        .unwrap_or_else(|error| panic!("a stored author: {error}")),
                };
                AuthoredPost { author, post }
            })
            .collect()
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
