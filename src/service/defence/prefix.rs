//! [`Prefixes`]: the client network a fair share, a ticket rate or a
//! last-resort refusal is counted by.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How many leading bits of a client address name its network: IPv4 by
/// its /24 and IPv6 by its /64 by default (one subscriber, or one small
/// office, usually holds such a block, so one flooder holds few of them).
///
/// ```
/// use qcaptcha::pow::Prefixes;
/// let p = Prefixes::default();
/// assert_eq!(p.key("198.51.100.7".parse()?), "198.51.100.0/24");
/// assert_eq!(p.key("2001:db8:1:2::9".parse()?), "2001:db8:1:2::/64");
/// assert_eq!(Prefixes::new(32, 128)?.key("198.51.100.7".parse()?), "198.51.100.7/32");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefixes {
    v4: u8,
    v6: u8,
}

impl Default for Prefixes {
    fn default() -> Self {
        Prefixes { v4: 24, v6: 64 }
    }
}

/// A prefix length out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("client prefixes must be /1 to /32 for IPv4 and /1 to /128 for IPv6, got /{v4} and /{v6}")]
pub struct PrefixError {
    /// The IPv4 length asked for.
    pub v4: u8,
    /// The IPv6 length asked for.
    pub v6: u8,
}

impl Prefixes {
    /// IPv4 addresses by their first `v4` bits (1..=32), IPv6 by their
    /// first `v6` (1..=128).
    pub fn new(v4: u8, v6: u8) -> Result<Prefixes, PrefixError> {
        if (1..=32).contains(&v4) && (1..=128).contains(&v6) {
            Ok(Prefixes { v4, v6 })
        } else {
            Err(PrefixError { v4, v6 })
        }
    }

    /// The network of `ip` as text, `address/length` (an IPv4-mapped IPv6
    /// address counts as IPv4).
    pub fn key(&self, ip: IpAddr) -> String {
        self.network(ip).to_string()
    }

    /// The network of `ip`, written as [`key`](Prefixes::key) does when
    /// displayed (with no allocation of its own).
    pub(crate) fn network(&self, ip: IpAddr) -> Network {
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.v4)).unwrap_or(0);
                Network(IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask)), self.v4)
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.v6)).unwrap_or(0);
                Network(IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask)), self.v6)
            }
        }
    }
}

/// A client network: its first address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Network(IpAddr, u8);

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => {
                let mut text = V4Text::new(v4);
                text.push(b'/');
                text.push_decimal(self.1);
                f.write_str(text.as_str())
            }
            IpAddr::V6(v6) => write!(f, "{v6}/{}", self.1),
        }
    }
}

/// An IPv4 address in dotted decimal (and a little more: a `/length`),
/// written on the stack. Every request names a few store records by its
/// client's address or network, and `Ipv4Addr`'s own `Display` goes
/// through the formatter once per octet; this is one `write_str`.
pub(crate) struct V4Text {
    buf: [u8; 20],
    len: usize,
}

impl V4Text {
    /// `ip` as `a.b.c.d`.
    pub(crate) fn new(ip: Ipv4Addr) -> V4Text {
        let mut text = V4Text {
            buf: [0; 20],
            len: 0,
        };
        for (i, octet) in ip.octets().into_iter().enumerate() {
            if i > 0 {
                text.push(b'.');
            }
            text.push_decimal(octet);
        }
        text
    }

    /// Appends one ASCII byte (at most 4 after the address: there is room).
    pub(crate) fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// Appends `n` in decimal.
    pub(crate) fn push_decimal(&mut self, n: u8) {
        if n >= 100 {
            self.push(b'0' + n / 100);
        }
        if n >= 10 {
            self.push(b'0' + n / 10 % 10);
        }
        self.push(b'0' + n % 10);
    }

    /// The text (ASCII only, so always UTF-8).
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let p = Prefixes::default();
        let key = |s: &str| p.key(s.parse().unwrap());
        assert_eq!(key("127.1.0.7"), key("127.1.0.250"));
        assert_ne!(key("127.1.0.7"), key("127.1.1.7"));
        assert_eq!(key("::ffff:10.1.2.3"), "10.1.2.0/24");
        assert_eq!(key("2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64");
        let p = Prefixes::new(16, 48).unwrap();
        assert_eq!(p.key("10.1.2.3".parse().unwrap()), "10.1.0.0/16");
        assert_eq!(p.key("2001:db8:1:2::1".parse().unwrap()), "2001:db8:1::/48");
        assert!(Prefixes::new(0, 64).is_err());
        // The stack-written form is std's, for every octet value.
        for o in 0..=255u8 {
            let ip = Ipv4Addr::new(o, 255 - o, o / 7, 10);
            assert_eq!(V4Text::new(ip).as_str(), ip.to_string());
            assert_eq!(Network(IpAddr::V4(ip), 32).to_string(), format!("{ip}/32"));
        }
        assert!(Prefixes::new(24, 129).is_err());
        assert_eq!(
            Prefixes::new(32, 128)
                .unwrap()
                .key("1.2.3.4".parse().unwrap()),
            "1.2.3.4/32"
        );
    }
}
