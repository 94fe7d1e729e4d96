//! Who a client is, for the limits that count per client (sign-in throttle, connections
//! per address): the address a request came from, where a trusted reverse proxy may
//! vouch for the address it forwarded.

use super::ParseError;
use ipnet::IpNet;
use std::net::IpAddr;

/// The reverse proxies (`REEL_TRUSTED_PROXIES`: addresses and CIDR blocks, comma
/// separated) whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed. Empty by
/// default: then those headers are believed from nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let mut nets = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => item
                    .parse::<IpAddr>()
                    .map(IpNet::from)
                    .map_err(|_| ParseError::new(format!("{item:?} is not an address or CIDR")))?,
            };
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request whose socket peer is `peer`: the peer itself unless it
    /// is a trusted proxy; then, from the right of `X-Forwarded-For` (each proxy
    /// appends the address it saw), the first address that is not a trusted proxy.
    /// Anything left of it was written by the client and is not believed; a malformed
    /// entry ends the walk at the last address a trusted proxy vouched for.
    pub fn client_of(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let Some(header) = forwarded_for else {
            return client;
        };
        for hop in header.rsplit(',').map(str::trim) {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip.to_canonical();
                    if !self.contains(client) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

/// The key per-client limits count under: an IPv4 address, or an IPv6 address's /64
/// (one subscriber's network: a host can take any of its 2^64 addresses at will).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey(String);

impl ClientKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self(v4.to_string()),
            IpAddr::V6(v6) => {
                let net = ipnet::Ipv6Net::new(v6, 64)
                    .expect("64 is a valid prefix")
                    .trunc();
                Self(net.to_string())
            }
        }
    }

    /// A key for a client whose address is not an IP address (a host that supplied
    /// none, or something else): kept as it is.
    pub fn opaque(raw: &str) -> Self {
        match raw.parse::<IpAddr>() {
            Ok(ip) => Self::of(ip),
            Err(_) => Self(raw.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_blocks_parse_and_garbage_is_refused() {
        let proxies = TrustedProxies::parse("10.0.0.1, 192.168.0.0/16,::1").unwrap();
        assert!(proxies.contains(ip("10.0.0.1")));
        assert!(proxies.contains(ip("192.168.7.9")));
        assert!(proxies.contains(ip("::1")));
        assert!(
            proxies.contains(ip("::ffff:10.0.0.1")),
            "IPv4-mapped is IPv4"
        );
        assert!(!proxies.contains(ip("10.0.0.2")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("10.0.0.300").is_err());
        assert!(TrustedProxies::parse("proxy.example").is_err());
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_peer() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let xff = Some("6.6.6.6, 203.0.113.7, 10.0.0.5");
        // From a stranger, its own claims count for nothing.
        assert_eq!(
            proxies.client_of(ip("198.51.100.1"), xff),
            ip("198.51.100.1")
        );
        // From the proxy: the rightmost address no trusted proxy wrote, not the
        // client-written one on the left.
        assert_eq!(proxies.client_of(ip("10.0.0.9"), xff), ip("203.0.113.7"));
        assert_eq!(proxies.client_of(ip("10.0.0.9"), None), ip("10.0.0.9"));
        assert_eq!(
            proxies.client_of(ip("10.0.0.9"), Some("junk, 10.0.0.4")),
            ip("10.0.0.4"),
            "a malformed hop ends the walk"
        );
        let none = TrustedProxies::default();
        assert_eq!(none.client_of(ip("10.0.0.9"), xff), ip("10.0.0.9"));
    }

    #[test]
    fn ipv6_clients_count_per_64_and_ipv4_per_address() {
        let a = ClientKey::of(ip("2001:db8:1:2:aaaa::1"));
        let b = ClientKey::of(ip("2001:db8:1:2:bbbb::2"));
        let other = ClientKey::of(ip("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(a.as_str(), "2001:db8:1:2::/64");
        assert_eq!(ClientKey::of(ip("::ffff:192.0.2.1")).as_str(), "192.0.2.1");
        assert_ne!(
            ClientKey::of(ip("192.0.2.1")),
            ClientKey::of(ip("192.0.2.2"))
        );
        assert_eq!(ClientKey::opaque("unknown").as_str(), "unknown");
    }
}
