//! Voyado's layer 3, the IP lock: only requests whose client address is in
//! `ENGAGE_ALLOWED_SOURCE_IPS` are read any further.
//!
//! The client address is `requestContext.http.sourceIp` of the API Gateway HTTP API or Function
//! URL event: the address AWS saw the TCP connection come from. Headers such as
//! `X-Forwarded-For` are never read (on a Function URL they come from the client and can say
//! anything).
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are the IPv4 address they carry, on both
//! sides: a client address `::ffff:52.215.16.239` is matched as `52.215.16.239`, and an entry
//! `::ffff:52.215.16.239` (or a range inside `::ffff:0:0/96`) is read as the IPv4 address (or
//! range) it names. Nothing else crosses families: an IPv4 entry never matches an IPv6 client
//! and the other way round.

use crate::config::{split_list, ConfigError, Settings, ALLOWED_SOURCE_IPS};
use ipnet::{IpNet, Ipv4Net};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use std::net::IpAddr;

/// The client address AWS recorded for the request: `requestContext.http.sourceIp` of an API
/// Gateway HTTP API (payload 2.0) or Function URL event (`requestContext.identity.sourceIp` of
/// a REST API one). Never a header. `None` when the event carries none.
pub fn source_ip(req: &Request) -> Option<&str> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.as_deref(),
        RequestContext::ApiGatewayV1(ctx) => ctx.identity.source_ip.as_deref(),
        _ => None,
    }
}

/// The parsed allow list. Built once at cold start; `allows` is a scan of a few ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceIpAllowList {
    nets: Vec<IpNet>,
}

impl SourceIpAllowList {
    /// `None` when `list` holds no entry (the lock is off). A malformed entry is an error that
    /// names the variable and the entry's position (1-based), never the entry itself.
    pub fn parse(var: &'static str, list: &str) -> Result<Option<Self>, ConfigError> {
        let nets = split_list(list)
            .enumerate()
            .map(|(i, entry)| {
                parse_entry(entry)
                    .map_err(|why| ConfigError::invalid(var, format!("entry {} {why}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((!nets.is_empty()).then_some(SourceIpAllowList { nets }))
    }

    /// From `ENGAGE_ALLOWED_SOURCE_IPS`; `None` when it is unset or empty.
    pub fn from_settings<F: Fn(&str) -> Option<String>>(
        settings: &Settings<F>,
    ) -> Result<Option<Self>, ConfigError> {
        SourceIpAllowList::parse(
            ALLOWED_SOURCE_IPS,
            &settings.optional(ALLOWED_SOURCE_IPS).unwrap_or_default(),
        )
    }

    /// Whether `client` is inside one of the ranges.
    pub fn allows(&self, client: IpAddr) -> bool {
        let client = client.to_canonical();
        self.nets.iter().any(|net| net.contains(&client))
    }

    /// Whether the request's `sourceIp` (as the event gives it: text, or absent) is allowed.
    /// An absent or unreadable address is refused: the lock fails closed.
    pub fn allows_source(&self, source_ip: Option<&str>) -> bool {
        source_ip
            .and_then(|s| s.trim().parse::<IpAddr>().ok())
            .is_some_and(|ip| self.allows(ip))
    }

    pub fn len(&self) -> usize {
        self.nets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }
}

/// One entry: an address (a range of one) or a CIDR range whose host bits are zero (as AWS
/// security groups and WAF IP sets require, so that a typo such as `10.1.2.3/8` is caught
/// rather than silently widened).
fn parse_entry(entry: &str) -> Result<IpNet, &'static str> {
    let net = if entry.contains('/') {
        let net: IpNet = entry
            .parse()
            .map_err(|_| "is not an IP address or CIDR range")?;
        if net.trunc() != net {
            return Err("has bits set after its prefix length (write the range's first address)");
        }
        net
    } else {
        let ip: IpAddr = entry
            .parse()
            .map_err(|_| "is not an IP address or CIDR range")?;
        IpNet::from(ip)
    };
    Ok(canonical(net))
}

/// An IPv6 range inside `::ffff:0:0/96` is the IPv4 range it maps.
fn canonical(net: IpNet) -> IpNet {
    let IpNet::V6(v6) = net else {
        return net;
    };
    match (
        v6.network().to_ipv4_mapped(),
        v6.prefix_len().checked_sub(96),
    ) {
        (Some(v4), Some(len)) => Ipv4Net::new(v4, len).map(IpNet::V4).unwrap_or(net),
        _ => net,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVIX_EU: &str = "52.215.16.239, 54.216.8.72, 63.33.109.123, 2a05:d028:17:8000::/56";

    fn list(s: &str) -> SourceIpAllowList {
        SourceIpAllowList::parse(ALLOWED_SOURCE_IPS, s)
            .unwrap()
            .expect("a list")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn empty_or_blank_means_off() {
        for s in ["", "  ", " ,\n, "] {
            assert_eq!(SourceIpAllowList::parse(ALLOWED_SOURCE_IPS, s), Ok(None));
        }
    }

    #[test]
    fn svix_eu_addresses_are_allowed_and_neighbours_are_not() {
        let l = list(SVIX_EU);
        assert_eq!(l.len(), 4);
        for ok in [
            "52.215.16.239",
            "54.216.8.72",
            "63.33.109.123",
            "2a05:d028:17:8000::1",
        ] {
            assert!(l.allows(ip(ok)), "{ok}");
        }
        for no in [
            "52.215.16.238",
            "52.215.16.240",
            "127.0.0.1",
            "::1",
            "2a05:d028:17:7fff::1",
        ] {
            assert!(!l.allows(ip(no)), "{no}");
        }
    }

    #[test]
    fn cidr_edges_on_both_sides() {
        let l = list("198.51.100.64/26\t2001:db8:1::/48");
        // First and last address inside, and the one just outside on each side.
        assert!(l.allows(ip("198.51.100.64")));
        assert!(l.allows(ip("198.51.100.127")));
        assert!(!l.allows(ip("198.51.100.63")));
        assert!(!l.allows(ip("198.51.100.128")));
        assert!(l.allows(ip("2001:db8:1::")));
        assert!(l.allows(ip("2001:db8:1:ffff:ffff:ffff:ffff:ffff")));
        assert!(!l.allows(ip("2001:db8:0:ffff:ffff:ffff:ffff:ffff")));
        assert!(!l.allows(ip("2001:db8:2::")));
    }

    #[test]
    fn separators_are_commas_and_any_whitespace() {
        let l = list("192.0.2.1,192.0.2.2\n192.0.2.3 \t ,, 192.0.2.4");
        assert_eq!(l.len(), 4);
        assert!(l.allows(ip("192.0.2.4")));
    }

    #[test]
    fn ipv4_mapped_ipv6_is_the_ipv4_address_on_both_sides() {
        let l = list("192.0.2.7");
        assert!(l.allows(ip("::ffff:192.0.2.7")));
        assert!(!l.allows(ip("::ffff:192.0.2.8")));
        let l = list("::ffff:192.0.2.0/120");
        assert!(l.allows(ip("192.0.2.200")));
        assert!(l.allows(ip("::ffff:192.0.2.1")));
        assert!(!l.allows(ip("192.0.3.1")));
        // IPv4-compatible (deprecated, `::a.b.c.d`) and NAT64 forms are NOT the IPv4 address.
        let l = list("192.0.2.7");
        assert!(!l.allows(ip("::192.0.2.7")));
        assert!(!l.allows(ip("64:ff9b::192.0.2.7")));
    }

    #[test]
    fn families_never_cross() {
        let l = list("0.0.0.0/0");
        assert!(l.allows(ip("203.0.113.9")));
        assert!(!l.allows(ip("2001:db8::1")));
        let l = list("::/0");
        assert!(l.allows(ip("2001:db8::1")));
        assert!(!l.allows(ip("203.0.113.9")));
    }

    #[test]
    fn malformed_entries_name_the_variable_and_position_but_not_the_value() {
        for (input, pos) in [
            ("192.0.2.1, 300.1.1.1", 2),
            ("nonsense", 1),
            ("192.0.2.1 192.0.2.0/33", 2),
            ("10.0.0.0/8 192.0.2.0/24 2001:db8::/129", 3),
            ("fe80::1%eth0", 1),
            ("192.0.2.1/", 1),
            ("192.0.2.1-192.0.2.9", 1),
            ("*", 1),
            ("10.1.2.3/8", 1),
        ] {
            let err = SourceIpAllowList::parse(ALLOWED_SOURCE_IPS, input).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with(ALLOWED_SOURCE_IPS), "{text}");
            assert!(text.contains(&format!("entry {pos} ")), "{input}: {text}");
            for entry in split_list(input) {
                assert!(!text.contains(entry), "{text} echoes {entry}");
            }
        }
    }

    #[test]
    fn source_text_from_the_event_is_parsed_and_fails_closed() {
        let l = list("192.0.2.0/24 2001:db8::/32");
        assert!(l.allows_source(Some("192.0.2.10")));
        assert!(l.allows_source(Some("2001:db8::5")));
        assert!(!l.allows_source(Some("203.0.113.1")));
        assert!(!l.allows_source(None));
        assert!(!l.allows_source(Some("")));
        assert!(!l.allows_source(Some("192.0.2.10, 203.0.113.1")));
        assert!(!l.allows_source(Some("not-an-ip")));
    }
}
