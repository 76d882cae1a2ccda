//! [`serve`]: an HTTP/1 server for the router with the limits a public
//! endpoint needs against slow and greedy clients.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ::axum::extract::ConnectInfo;
use ::axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

/// Connection limits for [`serve`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServeConfig {
    pub(crate) max_connections: usize,
    pub(crate) max_connections_per_ip: usize,
    pub(crate) header_timeout: Duration,
}

impl Default for ServeConfig {
    /// 1,000 connections in all (under the usual 1,024 open files), 32
    /// from one address (a browser opens six), 5 s to send a request's
    /// headers, counted from the connection or from the previous response.
    fn default() -> Self {
        ServeConfig {
            max_connections: 1000,
            max_connections_per_ip: 32,
            header_timeout: Duration::from_secs(5),
        }
    }
}

impl ServeConfig {
    /// The most connections open at once; beyond it new connections wait
    /// in the kernel's accept queue.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// The most connections one client address may hold; more are closed
    /// at once, so that one client cannot take the slots of all others.
    pub fn max_connections_per_ip(mut self, n: usize) -> Self {
        self.max_connections_per_ip = n.max(1);
        self
    }

    /// How long a client may take to send a request's headers, from the
    /// moment the connection opens or the previous response was sent:
    /// trickling and idle keep-alive connections are closed after it. (The
    /// body has its own deadline, [`crate::axum::RouterConfig::request_timeout`].)
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }
}

/// Connections open per client address.
#[derive(Default)]
struct PerIp(Mutex<HashMap<IpAddr, usize>>);

/// One connection's place in [`PerIp`], given back when dropped.
struct IpSlot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    fn take(table: &Arc<PerIp>, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut map = table.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            table: table.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut map = self.table.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Serves `router` on `listener` over HTTP/1.1 until `shutdown` completes,
/// then stops accepting and returns (connections in flight finish on
/// their own tasks).
///
/// Each request gets the peer address as `ConnectInfo<SocketAddr>`. The
/// limits of `config` apply: connections in all and per address, and the
/// header deadline, which also closes idle keep-alive connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: ServeConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let per_ip = Arc::new(PerIp::default());
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => return Ok(()),
            slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of file descriptors, for example: back off
                    // instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let ip = peer.ip().to_canonical();
        let Some(ip_slot) = PerIp::take(&per_ip, ip, config.max_connections_per_ip) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            config.header_timeout,
            slot,
            ip_slot,
        ));
    }
}

/// One connection, holding its slots until it closes.
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
    _slot: OwnedSemaphorePermit,
    _ip_slot: IpSlot,
) {
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req)
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
