//! The checks around the signature: the source-IP lock and the custom header token before it,
//! the tenant lock after the envelope is read. Each is off unless its setting is given, and
//! each is built once at cold start.

mod custom_header;
mod source_ip;
mod tenants;

pub use custom_header::{header_name, CustomHeaderCheck};
pub use source_ip::{source_ip, SourceIpAllowList};
pub use tenants::TenantLock;

/// The checks one function applies, all off by default.
#[derive(Debug, Clone, Default)]
pub struct Guards {
    /// `ENGAGE_ALLOWED_SOURCE_IPS`.
    pub source_ips: Option<SourceIpAllowList>,
    /// `ENGAGE_CUSTOM_HEADER` with its tokens.
    pub custom_header: Option<CustomHeaderCheck>,
    /// `ENGAGE_TENANTS`.
    pub tenants: Option<TenantLock>,
}
