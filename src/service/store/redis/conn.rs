//! Where the store's Redis is, and a pooled connection to it.

use redis::cluster::{ClusterClient, ClusterConnection};
use redis::{Client, Connection, ConnectionLike};

/// Where the store's Redis is.
pub(super) enum Backend {
    Single(Client),
    Cluster(ClusterClient),
}

/// One connection taken from the pool for a call.
pub(super) enum Conn {
    Single(Connection),
    Cluster(Box<ClusterConnection>),
}

impl Conn {
    pub(super) fn as_dyn(&mut self) -> &mut dyn ConnectionLike {
        match self {
            Conn::Single(con) => con,
            Conn::Cluster(con) => &mut **con,
        }
    }
}
