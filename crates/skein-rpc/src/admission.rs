//! Admission of public requests by peer: what one client floods, it waits for itself.
//!
//! Limits per connection do not stop a client that opens many connections. Here a peer is
//! an IP address (for IPv6, the address's /64, what one user is usually given), and at most
//! [`Admission::per_peer`] requests of one peer are handled at once, over all its
//! connections; the rest wait in the order they came. Other peers are not held up by them:
//! there is deliberately no limit over all peers, which a few peers sending requests and
//! never their bodies could fill for everyone.
//!
//! A request holds its place until its answer starts (a subscription: until it is opened);
//! one given up while waiting (its client reset the stream, or the server's timeout struck)
//! leaves the queue.

use std::{
    collections::HashMap,
    future::Future,
    net::IpAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::{
    codegen::{http, Service},
    transport::server::TcpConnectInfo,
};

/// Who a request comes from: an IPv4 address, or an IPv6 address's /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Peer {
    V4([u8; 4]),
    V6([u8; 8]),
    /// A request whose address is not known (not over TCP); all such are one peer.
    Unknown,
}

impl Peer {
    fn of(address: Option<IpAddr>) -> Self {
        match address.map(|address| address.to_canonical()) {
            Some(IpAddr::V4(address)) => Peer::V4(address.octets()),
            Some(IpAddr::V6(address)) => {
                let mut prefix = [0; 8];
                prefix.copy_from_slice(&address.octets()[..8]);
                Peer::V6(prefix)
            }
            None => Peer::Unknown,
        }
    }
}

#[derive(Default)]
struct Peers {
    /// Each peer's places; a peer is here while a request of its holds or awaits a place.
    places: HashMap<Peer, Arc<Semaphore>>,
    /// How many peers to reach before looking for idle ones to forget.
    sweep_at: usize,
}

/// The places of every peer, shared by every connection of a server.
#[derive(Clone)]
pub struct Admission {
    per_peer: usize,
    peers: Arc<Mutex<Peers>>,
}

/// A request's place; freed when dropped.
pub struct Place {
    permit: Option<OwnedSemaphorePermit>,
    peer: Peer,
    admission: Admission,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut peers = self.admission.peers.lock();
        drop(self.permit.take());
        // Nobody else holds or awaits this peer's places (they would hold its semaphore),
        // and a new request takes it under this lock: the peer can be forgotten.
        if peers
            .places
            .get(&self.peer)
            .is_some_and(|places| Arc::strong_count(places) == 1)
        {
            peers.places.remove(&self.peer);
        }
    }
}

impl Admission {
    /// Admission of at most `per_peer` requests of each peer at once.
    pub fn new(per_peer: usize) -> Self {
        assert!(per_peer > 0, "a peer must be admitted something");
        Self {
            per_peer,
            peers: Arc::default(),
        }
    }

    /// Waits for a place for a request of the peer at `address`.
    pub async fn enter(&self, address: Option<IpAddr>) -> Place {
        let peer = Peer::of(address);
        let places = {
            let mut peers = self.peers.lock();
            if peers.places.len() >= peers.sweep_at {
                // A request that gave up just as it was given its place leaves its peer
                // behind; such peers are swept once the map has doubled since the last sweep.
                peers
                    .places
                    .retain(|_, places| Arc::strong_count(places) > 1);
                peers.sweep_at = (2 * peers.places.len()).max(1_024);
            }
            let per_peer = self.per_peer;
            peers
                .places
                .entry(peer)
                .or_insert_with(|| Arc::new(Semaphore::new(per_peer)))
                .clone()
        };
        let permit = places
            .acquire_owned()
            .await
            .expect("a peer's semaphore is never closed");
        Place {
            permit: Some(permit),
            peer,
            admission: self.clone(),
        }
    }

    /// Requests of the peer at `address` handled now.
    #[cfg(test)]
    fn handled(&self, address: Option<IpAddr>) -> usize {
        self.peers
            .lock()
            .places
            .get(&Peer::of(address))
            .map_or(0, |places| self.per_peer - places.available_permits())
    }
}

/// The layer that puts [`Admission`] in front of a server's services.
#[derive(Clone)]
pub struct AdmissionLayer {
    admission: Admission,
}

impl AdmissionLayer {
    /// A layer admitting at most `per_peer` requests of each peer at once, over all the
    /// server's connections.
    pub fn new(per_peer: usize) -> Self {
        Self {
            admission: Admission::new(per_peer),
        }
    }
}

impl<S> tower_layer::Layer<S> for AdmissionLayer {
    type Service = Admitted<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admitted {
            inner,
            admission: self.admission.clone(),
        }
    }
}

/// A service whose requests wait for their place.
#[derive(Clone)]
pub struct Admitted<S> {
    inner: S,
    admission: Admission,
}

impl<S, B> Service<http::Request<B>> for Admitted<S>
where
    S: Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The service made ready is the one to call; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let admission = self.admission.clone();
        let address = request
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr)
            .map(|address| address.ip());
        Box::pin(async move {
            let _place = admission.enter(address).await;
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::*;

    fn address(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    /// `count` requests of the peer at `at`, each held, once admitted, until its sender is
    /// dropped.
    fn flood(
        admission: &Admission,
        at: &str,
        count: usize,
    ) -> Vec<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)> {
        (0..count)
            .map(|_| {
                let (admission, at) = (admission.clone(), address(at));
                let (release, hold) = oneshot::channel::<()>();
                let task = tokio::spawn(async move {
                    let _place = admission.enter(at).await;
                    let _ = hold.await;
                });
                (release, task)
            })
            .collect()
    }

    async fn settle() {
        for _ in 0..200 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn test_a_flooding_peer_waits_for_itself() {
        let admission = Admission::new(8);
        let flood = flood(&admission, "10.0.0.1", 1_000);
        settle().await;
        assert_eq!(admission.handled(address("10.0.0.1")), 8);
        let waiting = flood.iter().filter(|(_, task)| !task.is_finished()).count();
        assert_eq!(waiting, 1_000, "eight handled, none done");

        // Another peer is let in at once; so is another IPv6 /64, while another address of
        // a /64 is the same peer. An IPv4 address written as IPv6 is the IPv4 peer.
        let other = admission.enter(address("10.0.0.2")).await;
        let _v6 = admission.enter(address("2001:db8:0:1::1")).await;
        let v6_flood = self::flood(&admission, "2001:db8:0:2::1", 8);
        settle().await;
        assert_eq!(admission.handled(address("2001:db8:0:2::ffff")), 8);
        let _mapped = admission.enter(address("::ffff:10.0.0.2")).await;
        assert_eq!(admission.handled(address("10.0.0.2")), 2);
        drop((other, v6_flood));

        for (release, task) in flood {
            drop(release);
            task.await.unwrap();
        }
        assert_eq!(admission.handled(address("10.0.0.1")), 0);
        assert!(
            !admission
                .peers
                .lock()
                .places
                .contains_key(&Peer::of(address("10.0.0.1"))),
            "nothing is kept of a peer gone"
        );
    }

    #[tokio::test]
    async fn test_requests_given_up_leave_the_queue_in_order() {
        let admission = Admission::new(4);
        let mut flood = flood(&admission, "10.0.0.1", 100);
        settle().await;
        // The first four are handled; those that give up while waiting are never handled.
        for (release, task) in flood.drain(10..) {
            task.abort();
            drop(release);
        }
        settle().await;
        // Freed places go to the waiting requests in the order they came.
        for (index, (release, task)) in flood.into_iter().enumerate() {
            assert_eq!(admission.handled(address("10.0.0.1")), (10 - index).min(4));
            drop(release);
            task.await.unwrap();
            settle().await;
        }
        assert!(admission.peers.lock().places.is_empty());
    }

    #[tokio::test]
    async fn test_idle_peers_are_swept() {
        let admission = Admission::new(1);
        for peer in 0..5_000u32 {
            let address = Some(IpAddr::from(peer.to_be_bytes()));
            drop(admission.enter(address).await);
        }
        assert!(admission.peers.lock().places.is_empty());
        // A place given to a request that gave up leaves its peer; sweeps bound them.
        for peer in 0..5_000u32 {
            let address = Some(IpAddr::from(peer.to_be_bytes()));
            let held = admission.enter(address).await;
            let waiting = tokio::spawn({
                let admission = admission.clone();
                async move { drop(admission.enter(address).await) }
            });
            settle().await;
            drop(held);
            waiting.abort();
        }
        assert!(admission.peers.lock().places.len() <= 2_048);
    }
}
