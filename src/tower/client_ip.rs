//! [`ClientIp`]: whose address a request is counted against.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderName};

/// Where the client's address comes from.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum ClientIp {
    /// The TCP peer (the default): right when clients connect directly.
    #[default]
    Peer,
    /// Behind reverse proxies: when the TCP peer is one of `trusted`, the
    /// client is the rightmost address in header `name` (for example
    /// `X-Forwarded-For`) that is not itself a trusted proxy; a request
    /// that did not come through a trusted proxy is counted against its
    /// peer, so a client cannot choose its address by sending the header.
    Header {
        /// The header the proxies append to.
        name: HeaderName,
        /// The proxies' own addresses.
        trusted: Vec<IpAddr>,
    },
}

impl ClientIp {
    /// `X-Forwarded-For` from the given proxies.
    pub fn forwarded_by(trusted: Vec<IpAddr>) -> ClientIp {
        ClientIp::Header {
            name: HeaderName::from_static("x-forwarded-for"),
            trusted,
        }
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn resolve(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.ip().to_canonical();
        let ClientIp::Header { name, trusted } = self else {
            return peer;
        };
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|t| t.to_canonical() == *ip);
        if !is_trusted(&peer) {
            return peer;
        }
        // Proxies append, so walk from the right past our own proxies.
        let hops = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if is_trusted(&ip.to_canonical()) => continue,
                Ok(ip) => return ip.to_canonical(),
                // Garbage written by whoever is left of our proxies: the
                // last proxy's view is all we can trust.
                Err(_) => return peer,
            }
        }
        peer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let via_proxy = SocketAddr::new(proxy, 4000);
        let direct: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        let rule = ClientIp::forwarded_by(vec![proxy]);
        let h = headers(&["198.51.100.1, 192.0.2.7"]);
        // Spoofed first entry ignored: the rightmost untrusted hop wins.
        assert_eq!(
            rule.resolve(via_proxy, &h),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        // Not through the proxy: the header is the client's own word.
        assert_eq!(rule.resolve(direct, &h), direct.ip());
        assert_eq!(ClientIp::Peer.resolve(via_proxy, &h), proxy);
        // Several proxies, several header lines.
        let rule = ClientIp::forwarded_by(vec![proxy, "10.0.0.3".parse().unwrap()]);
        let h = headers(&["192.0.2.7", "10.0.0.3"]);
        assert_eq!(
            rule.resolve(via_proxy, &h),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        // Garbage or nothing: the proxy itself.
        assert_eq!(rule.resolve(via_proxy, &headers(&["not an ip"])), proxy);
        assert_eq!(rule.resolve(via_proxy, &HeaderMap::new()), proxy);
    }
}
