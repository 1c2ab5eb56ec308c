//! The tenant lock: `ENGAGE_TENANTS` names the Engage tenants this stack serves. A correctly
//! signed event of any other tenant is refused (403 `tenant_not_allowed`) before it has any
//! effect. Names are compared exactly (case-sensitive), as they appear in the envelope's
//! `tenant` and in the dedup key.

use crate::config::{split_list, Settings, TENANTS};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantLock {
    names: Vec<String>,
}

impl TenantLock {
    /// `None` when `list` names no tenant (the lock is off).
    pub fn parse(list: &str) -> Option<Self> {
        let mut names: Vec<String> = split_list(list).map(str::to_string).collect();
        names.sort_unstable();
        names.dedup();
        (!names.is_empty()).then_some(TenantLock { names })
    }

    /// From `ENGAGE_TENANTS` (names separated by commas and/or whitespace).
    pub fn from_settings<F: Fn(&str) -> Option<String>>(settings: &Settings<F>) -> Option<Self> {
        TenantLock::parse(&settings.optional(TENANTS).unwrap_or_default())
    }

    pub fn allows(&self, tenant: &str) -> bool {
        self.names.iter().any(|n| n == tenant)
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_when_empty() {
        assert_eq!(TenantLock::parse(""), None);
        assert_eq!(TenantLock::parse(" ,\t"), None);
    }

    #[test]
    fn only_the_named_tenants_exactly() {
        let l = TenantLock::parse("myTenantName, other\nthird").unwrap();
        assert_eq!(l.names().len(), 3);
        assert!(l.allows("myTenantName"));
        assert!(l.allows("third"));
        for no in [
            "mytenantname",
            "myTenantName ",
            "",
            "myTenant",
            "myTenantName,other",
        ] {
            assert!(!l.allows(no), "{no:?}");
        }
    }

    #[test]
    fn repeated_names_count_once() {
        assert_eq!(TenantLock::parse("a a,a").unwrap().names(), ["a"]);
    }
}
