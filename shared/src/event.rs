//! Engage's event types and the function family each one belongs to.

use std::fmt;

/// The four Lambda functions. Every known event type belongs to exactly one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Contact,
    Consent,
    Loyalty,
    Promotion,
}

impl Family {
    pub const fn as_str(self) -> &'static str {
        match self {
            Family::Contact => "contact",
            Family::Consent => "consent",
            Family::Loyalty => "loyalty",
            Family::Promotion => "promotion",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The eleven event types Engage publishes (see `shared/engage-docs` and the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    ContactCreated,
    ContactUpdated,
    ContactDeleted,
    AcceptsEmailChanged,
    AcceptsSmsChanged,
    AcceptsPostalChanged,
    ConsentChanged,
    LoyaltyAddPoints,
    PointBalanceUpdated,
    RewardVoucherCreated,
    PromotionMultichannelAssigned,
}

impl EventType {
    pub const ALL: [EventType; 11] = [
        EventType::ContactCreated,
        EventType::ContactUpdated,
        EventType::ContactDeleted,
        EventType::AcceptsEmailChanged,
        EventType::AcceptsSmsChanged,
        EventType::AcceptsPostalChanged,
        EventType::ConsentChanged,
        EventType::LoyaltyAddPoints,
        EventType::PointBalanceUpdated,
        EventType::RewardVoucherCreated,
        EventType::PromotionMultichannelAssigned,
    ];

    /// Engage's name, exactly as it appears in `eventType`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::ContactCreated => "contact.created",
            EventType::ContactUpdated => "contact.updated",
            EventType::ContactDeleted => "contact.deleted",
            EventType::AcceptsEmailChanged => "contact.acceptsEmail.changed",
            EventType::AcceptsSmsChanged => "contact.acceptsSms.changed",
            EventType::AcceptsPostalChanged => "contact.acceptsPostal.changed",
            EventType::ConsentChanged => "contact.consent.changed",
            EventType::LoyaltyAddPoints => "loyalty.addPoints",
            EventType::PointBalanceUpdated => "point.balance.updated",
            EventType::RewardVoucherCreated => "reward.voucher.created",
            EventType::PromotionMultichannelAssigned => "promotion.multichannel.assigned",
        }
    }

    /// Matching is exact (case included): Engage's names are identifiers, and guessing at
    /// near-misses would route an event we don't understand into an effect.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    pub const fn family(self) -> Family {
        match self {
            EventType::ContactCreated | EventType::ContactUpdated | EventType::ContactDeleted => {
                Family::Contact
            }
            EventType::AcceptsEmailChanged
            | EventType::AcceptsSmsChanged
            | EventType::AcceptsPostalChanged
            | EventType::ConsentChanged => Family::Consent,
            EventType::LoyaltyAddPoints
            | EventType::PointBalanceUpdated
            | EventType::RewardVoucherCreated => Family::Loyalty,
            EventType::PromotionMultichannelAssigned => Family::Promotion,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn families_partition_the_types() {
        let count = |f: Family| EventType::ALL.iter().filter(|t| t.family() == f).count();
        assert_eq!(count(Family::Contact), 3);
        assert_eq!(count(Family::Consent), 4);
        assert_eq!(count(Family::Loyalty), 3);
        assert_eq!(count(Family::Promotion), 1);
    }

    #[test]
    fn unknown_and_near_miss_names_are_not_types() {
        assert_eq!(EventType::parse("loyalty.removePoints"), None);
        assert_eq!(EventType::parse("Contact.Created"), None);
        assert_eq!(EventType::parse(""), None);
    }
}
