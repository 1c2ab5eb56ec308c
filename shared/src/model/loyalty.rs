use super::{Decimal, Id};
use serde::Deserialize;

/// `loyalty.addPoints` (point follower solution): a point transaction.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PointsAdded {
    pub amount: Decimal,
    pub contact_id: String,
    #[serde(default)]
    pub point_definition_id: Option<Id>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub user_id: Option<Id>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub source_id: Option<Id>,
}

/// `point.balance.updated`: a contact's new point balance.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PointBalanceUpdated {
    pub balance: Decimal,
    pub contact_id: String,
    #[serde(default)]
    pub account_id: Option<Id>,
    #[serde(default)]
    pub definition_id: Option<Id>,
    #[serde(default)]
    pub balance_expires: Option<String>,
}

/// `reward.voucher.created`: Engage spells this payload in PascalCase; camelCase is accepted
/// too in case Engage aligns it with the other events.
#[derive(Debug, Deserialize)]
pub struct RewardVoucherCreated {
    #[serde(rename = "Id", alias = "id")]
    pub id: Id,
    #[serde(rename = "ContactId", alias = "contactId")]
    pub contact_id: String,
    #[serde(rename = "Amount", alias = "amount", default)]
    pub amount: Option<Decimal>,
    #[serde(rename = "Currency", alias = "currency", default)]
    pub currency: Option<String>,
    #[serde(rename = "UniqueCode", alias = "uniqueCode", default)]
    pub unique_code: Option<String>,
    #[serde(rename = "ValidFrom", alias = "validFrom", default)]
    pub valid_from: Option<String>,
    #[serde(rename = "ValidTo", alias = "validTo", default)]
    pub valid_to: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voucher_reads_pascal_and_camel_case() {
        let p: RewardVoucherCreated = serde_json::from_str(
            r#"{"Amount":100.00,"ContactId":"c","Currency":"SEK","Id":"v1","UniqueCode":"X","ValidFrom":"2026-01-01T00:00:00+01:00","ValidTo":"2026-02-01T00:00:00+01:00"}"#,
        )
        .unwrap();
        assert_eq!(p.amount.unwrap().as_str(), "100.00");
        assert_eq!(p.contact_id, "c");
        let p: RewardVoucherCreated = serde_json::from_str(r#"{"id":7,"contactId":"c"}"#).unwrap();
        assert_eq!(p.id.as_str(), "7");
    }

    #[test]
    fn points_need_an_amount_and_a_contact() {
        assert!(serde_json::from_str::<PointsAdded>(r#"{"contactId":"c"}"#).is_err());
        assert!(serde_json::from_str::<PointsAdded>(r#"{"amount":1}"#).is_err());
        let p: PointsAdded =
            serde_json::from_str(r#"{"amount":"5.5","contactId":"c","pointDefinitionId":3}"#)
                .unwrap();
        assert_eq!(p.amount.as_str(), "5.5");
        assert_eq!(p.point_definition_id.unwrap().as_str(), "3");
    }

    #[test]
    fn a_balance_is_never_a_float() {
        let p: PointBalanceUpdated =
            serde_json::from_str(r#"{"balance":1234.5600,"contactId":"c"}"#).unwrap();
        assert_eq!(p.balance.as_str(), "1234.5600");
    }
}
