use serde::Deserialize;

/// `promotion.multichannel.assigned`. Voyado publishes no payload for it, so nothing is
/// required; the contact and promotion ids are read if present in either casing.
#[derive(Debug, Deserialize)]
pub struct PromotionAssigned {
    #[serde(rename = "contactId", alias = "ContactId", default)]
    pub contact_id: Option<String>,
    #[serde(rename = "promotionId", alias = "PromotionId", default)]
    pub promotion_id: Option<super::Id>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_optional() {
        let p: PromotionAssigned = serde_json::from_str("{}").unwrap();
        assert!(p.contact_id.is_none());
        let p: PromotionAssigned =
            serde_json::from_str(r#"{"ContactId":"c","promotionId":"p"}"#).unwrap();
        assert_eq!(p.contact_id.as_deref(), Some("c"));
        assert_eq!(p.promotion_id.unwrap().as_str(), "p");
    }
}
