//! [`RedisTls`]: the CA and client certificate for `rediss://`.

#[cfg(doc)]
use super::RedisStore;

/// TLS settings for [`RedisStore::open_tls`] and
/// [`RedisStore::open_cluster_tls`] (cargo feature `redis-tls`): which CA
/// to trust and, for mutual TLS, the client's certificate.
///
/// The TLS stack is rustls with its *ring* crypto provider. If your binary
/// also turns on rustls's `aws-lc-rs` provider, rustls cannot pick one by
/// itself: install one at start-up
/// (`rustls::crypto::ring::default_provider().install_default()`).
///
/// ```no_run
/// use qcaptcha::RedisStore;
/// use qcaptcha::store::RedisTls;
///
/// let tls = RedisTls::new().ca_pem(std::fs::read("/etc/redis/ca.crt")?);
/// let store = RedisStore::open_tls("rediss://redis.internal:6380/0", &tls)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "redis-tls")]
#[derive(Clone, Default)]
pub struct RedisTls {
    ca_pem: Option<Vec<u8>>,
    client: Option<(Vec<u8>, Vec<u8>)>,
}

#[cfg(feature = "redis-tls")]
impl std::fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the client key.
        f.debug_struct("RedisTls")
            .field("ca_pem", &self.ca_pem.as_ref().map(|pem| pem.len()))
            .field("client_auth", &self.client.is_some())
            .finish()
    }
}

#[cfg(feature = "redis-tls")]
impl RedisTls {
    /// No custom CA (the system's roots are trusted) and no client
    /// certificate.
    pub fn new() -> RedisTls {
        RedisTls::default()
    }

    /// Trusts the CA certificate(s) in `pem` (PEM, one or more
    /// certificates) instead of the system's roots: the server's
    /// certificate must chain to one of them.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> RedisTls {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Presents a client certificate (mutual TLS): `cert_pem` holds the
    /// certificate chain, `key_pem` its private key, both PEM.
    pub fn client_auth(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> RedisTls {
        self.client = Some((cert_pem.into(), key_pem.into()));
        self
    }

    pub(super) fn certificates(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: self
                .client
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
            root_cert: self.ca_pem.clone(),
        }
    }
}
