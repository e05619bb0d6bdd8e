//! Trusted proxies as CIDR blocks, and the client address behind them.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::error::{Error, ErrorCode};

/// An address block such as `10.0.0.0/8` or `::1/128` (a bare address is a
/// block of one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNet {
    network: IpAddr,
    prefix_len: u8,
}

impl IpNet {
    /// `None` when `prefix_len` exceeds the address's bits.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Option<IpNet> {
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        (prefix_len <= bits).then(|| IpNet { network: mask(addr, prefix_len), prefix_len })
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical(); // ::ffff:10.1.2.3 is 10.1.2.3
        addr.is_ipv4() == self.network.is_ipv4() && mask(addr, self.prefix_len) == self.network
    }
}

fn mask(addr: IpAddr, prefix_len: u8) -> IpAddr {
    match addr.to_canonical() {
        IpAddr::V4(v4) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & m).into())
        }
        IpAddr::V6(v6) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix_len)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & m).into())
        }
    }
}

impl FromStr for IpNet {
    type Err = Error;

    fn from_str(text: &str) -> Result<IpNet, Error> {
        let bad = || {
            Error::new(
                ErrorCode::InvalidArgument,
                format!("trusted proxy \"{text}\": expected an address or a CIDR block like 10.0.0.0/8"),
            )
        };
        let (addr, prefix_len) = match text.split_once('/') {
            Some((addr, len)) => (addr, Some(len.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let addr = addr.to_canonical();
        let full = if addr.is_ipv4() { 32 } else { 128 };
        IpNet::new(addr, prefix_len.unwrap_or(full)).ok_or_else(bad)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

/// One X-Forwarded-For hop: an address, optionally bracketed or with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .or_else(|_| hop.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>())
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The client's address. The peer (the TCP connection's other end) is the
/// client unless it is a trusted proxy; then X-Forwarded-For is read from the
/// right: the first hop that is not a trusted proxy is the client (hops to
/// its left are whatever the client claimed). A hop that is not an address
/// stops the walk at the last trusted proxy, so a forged header can only make
/// a request count against a proxy, never against someone else.
pub(crate) fn client_ip<'a>(
    peer: Option<IpAddr>,
    forwarded_for: impl DoubleEndedIterator<Item = &'a [u8]>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let mut client = peer;
    // Several X-Forwarded-For fields are one comma-separated list, in order.
    for value in forwarded_for.rev() {
        let Ok(value) = std::str::from_utf8(value) else { return Some(client) };
        for hop in value.rsplit(',') {
            match parse_hop(hop) {
                Some(ip) if is_trusted(ip) => client = ip,
                Some(ip) => return Some(ip),
                None => return Some(client),
            }
        }
    }
    Some(client) // every hop is a trusted proxy: the leftmost one
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn resolve(peer: &str, xff: &[&str], trusted: &[&str]) -> Option<IpAddr> {
        client_ip(ip(peer), xff.iter().map(|s| s.as_bytes()), &nets(trusted))
    }

    #[test]
    fn cidr_blocks_contain_what_they_should() {
        let net: IpNet = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.255.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.1.0.1".parse().unwrap()));
        assert_eq!("10.9.8.7/8".parse::<IpNet>().unwrap().to_string(), "10.0.0.0/8");
        assert!("0.0.0.0/0".parse::<IpNet>().unwrap().contains("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn bad_cidr_blocks_are_refused_naming_the_text() {
        for bad in ["10.0.0.0/33", "10.0.0/8", "fe80::/129", "", "proxy", "10.0.0.0/x"] {
            let err = bad.parse::<IpNet>().unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidArgument);
            assert!(err.message().contains(&format!("\"{bad}\"")), "{err}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(resolve("203.0.113.9", &["1.2.3.4"], &["10.0.0.0/8"]), ip("203.0.113.9"));
        assert_eq!(resolve("203.0.113.9", &["1.2.3.4"], &[]), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(resolve("10.0.0.1", &["198.51.100.7"], &trusted), ip("198.51.100.7"));
        // The client forged "1.1.1.1"; the proxies appended the real address.
        assert_eq!(resolve("10.0.0.1", &["1.1.1.1, 198.51.100.7, 10.0.0.2"], &trusted), ip("198.51.100.7"));
        // Two header fields are one list.
        assert_eq!(resolve("10.0.0.1", &["1.1.1.1", "198.51.100.7, 10.0.0.2"], &trusted), ip("198.51.100.7"));
        assert_eq!(resolve("10.0.0.1", &["[2001:db8::1]:443"], &trusted), ip("2001:db8::1"));
        assert_eq!(resolve("10.0.0.1", &["192.0.2.1:8080"], &trusted), ip("192.0.2.1"));
    }

    #[test]
    fn a_trusted_peer_without_forwarding_or_with_garbage_is_itself_the_client() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(resolve("10.0.0.1", &[], &trusted), ip("10.0.0.1"));
        assert_eq!(resolve("10.0.0.1", &["unknown"], &trusted), ip("10.0.0.1"));
        assert_eq!(resolve("10.0.0.1", &["198.51.100.7, junk, 10.0.0.2"], &trusted), ip("10.0.0.2"));
        assert_eq!(resolve("10.0.0.1", &["10.0.0.3, 10.0.0.2"], &trusted), ip("10.0.0.3"));
    }

    #[test]
    fn no_peer_address_means_no_client_address() {
        assert_eq!(client_ip(None, std::iter::empty(), &[]), None);
    }
}
