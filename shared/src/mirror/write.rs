//! The DynamoDB write of a [`MirrorChange`]: the conditional update (or the tombstone put)
//! that goes into the same transaction as the event's dedup record.
//!
//! Every write goes to the item of the event's tenant and contact
//! ([`crate::tenant_key::mirror_key`]) and sets `tenant` and `engageContactId` along.
//!
//! The conditions are the ordering rules. Every write but the tombstone requires
//! `attribute_not_exists(deletedAt)`, so nothing ever writes past a deletion. A preference or
//! consent applies unless the stored one is strictly newer (`changedAtMicros`); a null
//! consent only where none is stored, and any set consent replaces a stored null. A
//! `contact.updated` snapshot with a Svix message time applies unless the stored profile came
//! from a strictly newer message (`profileMessageTime`); one without applies (arrival order)
//! and leaves the stored message time as it is. Equal times are one rule everywhere
//! ([`not_older`]): the later arrival wins.

use super::change::{Effect, MirrorChange, Profile, Tombstone};
use super::change_time::ChangeTime;
use super::item;
use crate::tenant_key::mirror_key;
use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use std::collections::HashMap;

const NOT_DELETED: &str = "attribute_not_exists(#deletedAt)";

type Names = HashMap<String, String>;

/// When a preference or consent entry may be written (besides "not deleted").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Not older than the stored entry, or none stored (preferences).
    NotOlder,
    /// The same, or the stored value is null: once set, a consent never reverts to
    /// "not set", so any value beats a null.
    NewerOrOverNull,
    /// Only where no entry is stored (a null consent never replaces anything).
    OnlyIfAbsent,
}
type Values = HashMap<String, AttributeValue>;

impl MirrorChange {
    pub fn write(&self, table: &str) -> Result<TransactWriteItem, BuildError> {
        let write = match &self.effect {
            Effect::Erase(tombstone) => {
                return Ok(TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(table)
                            .set_item(Some(self.tombstone(tombstone)))
                            .build()?,
                    )
                    .build())
            }
            Effect::CreateProfile(profile) => self.profile(
                profile,
                format!("{NOT_DELETED} AND attribute_not_exists(#profile)"),
            ),
            Effect::ReplaceProfile(profile) => match profile.message_time {
                Some(_) => self.profile(
                    profile,
                    format!(
                        "{NOT_DELETED} AND ({})",
                        not_older("#messageTime", "#messageTime", ":messageTime")
                    ),
                ),
                None => self.profile(profile, NOT_DELETED.to_string()),
            },
            Effect::SetPreference { flag, value, at } => {
                self.entry(flag, AttributeValue::Bool(*value), at, Rule::NotOlder)
            }
            Effect::SetConsent { alias, value, at } => self.entry(
                &item::consent_attribute(alias),
                value.clone(),
                at,
                if value.is_null() {
                    Rule::OnlyIfAbsent
                } else {
                    Rule::NewerOrOverNull
                },
            ),
        };
        let (set, condition, mut names, mut values) = write;
        names.insert("#tenant".into(), item::TENANT.into());
        names.insert("#engageContactId".into(), item::ENGAGE_CONTACT_ID.into());
        values.insert(":tenant".into(), s(&self.tenant));
        values.insert(":engageContactId".into(), s(&self.contact_id));
        Ok(TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name(table)
                    .key(item::CONTACT_ID, s(&self.key()))
                    .update_expression(format!(
                        "{set}, #tenant = :tenant, #engageContactId = :engageContactId"
                    ))
                    .condition_expression(condition)
                    .set_expression_attribute_names(Some(names))
                    .set_expression_attribute_values(Some(values))
                    .build()?,
            )
            .build())
    }

    /// The item's key: the contact of the event's tenant.
    pub fn key(&self) -> String {
        mirror_key(&self.tenant, &self.contact_id)
    }

    /// The whole item after a deletion: a Put replaces every attribute, so no personal data
    /// can survive it, whatever was stored.
    fn tombstone(&self, t: &Tombstone) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::from([
            (item::CONTACT_ID.to_string(), s(&self.key())),
            (item::TENANT.to_string(), s(&self.tenant)),
            (item::ENGAGE_CONTACT_ID.to_string(), s(&self.contact_id)),
            (item::DELETED_AT.to_string(), s(&t.deleted_at)),
            (item::DELETE_EVENT_ID.to_string(), s(&self.event_id)),
            (
                item::EXPIRES_AT.to_string(),
                AttributeValue::N(t.expires_at.to_string()),
            ),
        ]);
        if let Some(reason) = &t.reason {
            item.insert(item::DELETION_REASON.to_string(), s(reason));
        }
        item
    }

    /// The profile's write; with a message time, that time is stored along (and the
    /// condition may compare with it).
    fn profile(&self, p: &Profile, condition: String) -> (String, String, Names, Values) {
        let mut names = names(&[
            ("#profile", item::PROFILE),
            ("#profileEventId", item::PROFILE_EVENT_ID),
            ("#profileUpdatedAt", item::PROFILE_UPDATED_AT),
            ("#deletedAt", item::DELETED_AT),
        ]);
        let mut values = HashMap::from([
            (":profile".to_string(), AttributeValue::M(p.fields.clone())),
            (":eventId".to_string(), s(&self.event_id)),
            (":appliedAt".to_string(), s(&p.applied_at)),
        ]);
        let mut set = "SET #profile = :profile, #profileEventId = :eventId, \
             #profileUpdatedAt = :appliedAt"
            .to_string();
        if let Some(created) = p.message_time {
            names.insert("#messageTime".into(), item::PROFILE_MESSAGE_TIME.into());
            values.insert(
                ":messageTime".into(),
                AttributeValue::N(created.millis().to_string()),
            );
            set.push_str(", #messageTime = :messageTime");
        }
        (set, condition, names, values)
    }

    /// A preference or consent entry, written under `rule`.
    fn entry(
        &self,
        attribute: &str,
        value: AttributeValue,
        at: &ChangeTime,
        rule: Rule,
    ) -> (String, String, Names, Values) {
        let entry = AttributeValue::M(HashMap::from([
            (item::VALUE.to_string(), value),
            (item::CHANGED_AT.to_string(), s(&at.text)),
            (
                item::CHANGED_AT_MICROS.to_string(),
                AttributeValue::N(at.micros.to_string()),
            ),
            (item::EVENT_ID.to_string(), s(&self.event_id)),
        ]));
        let mut names = names(&[("#entry", attribute), ("#deletedAt", item::DELETED_AT)]);
        let mut values = HashMap::from([(":entry".to_string(), entry)]);
        let condition = if rule == Rule::OnlyIfAbsent {
            format!("{NOT_DELETED} AND attribute_not_exists(#entry)")
        } else {
            names.insert("#micros".into(), item::CHANGED_AT_MICROS.into());
            values.insert(":micros".into(), AttributeValue::N(at.micros.to_string()));
            let mut newer = not_older("#entry", "#entry.#micros", ":micros");
            if rule == Rule::NewerOrOverNull {
                names.insert("#value".into(), item::VALUE.into());
                values.insert(":null".into(), s("NULL"));
                newer.push_str(" OR attribute_type(#entry.#value, :null)");
            }
            format!("{NOT_DELETED} AND ({newer})")
        };
        ("SET #entry = :entry".to_string(), condition, names, values)
    }
}

/// The one tie rule of the mirror, for profiles (message times), preferences and consents
/// (change times): a change applies unless the stored time is strictly later, so of two
/// changes with equal times the later arrival wins. The stored time's absence never blocks.
/// `holder` is the attribute whose absence means "nothing stored" (the entry, or the time
/// itself).
fn not_older(holder: &str, stored: &str, incoming: &str) -> String {
    format!("attribute_not_exists({holder}) OR {stored} <= {incoming}")
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn names(pairs: &[(&str, &str)]) -> Names {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message_time::MessageTime;

    fn change(effect: Effect) -> MirrorChange {
        MirrorChange {
            contact_id: "c".into(),
            tenant: "t".into(),
            event_id: "e".into(),
            effect,
        }
    }

    fn at() -> ChangeTime {
        ChangeTime::parse("2026-01-20T16:28:38.985631+01").unwrap()
    }

    /// Every placeholder a write declares is used, and every one it uses is declared:
    /// DynamoDB refuses the whole transaction otherwise.
    fn assert_placeholders_match(update: &Update) {
        let text = format!(
            "{} {}",
            update.update_expression(),
            update.condition_expression().unwrap_or("")
        );
        let used = |prefix: char| -> std::collections::BTreeSet<String> {
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == prefix))
                .filter(|w| w.starts_with(prefix))
                .map(str::to_string)
                .collect()
        };
        let declared_names = update
            .expression_attribute_names()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let declared_values = update
            .expression_attribute_values()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(used('#'), declared_names, "{text}");
        assert_eq!(used(':'), declared_values, "{text}");
    }

    #[test]
    fn each_write_declares_exactly_what_it_uses() {
        let profile = Profile {
            fields: HashMap::new(),
            applied_at: "2026-01-20T15:28:38Z".into(),
            message_time: None,
        };
        let dated = Profile {
            message_time: Some(MessageTime::from_millis(1_768_922_918_984)),
            ..profile.clone()
        };
        for effect in [
            Effect::CreateProfile(profile.clone()),
            Effect::ReplaceProfile(profile),
            Effect::CreateProfile(dated.clone()),
            Effect::ReplaceProfile(dated),
            Effect::SetPreference {
                flag: item::ACCEPTS_SMS,
                value: true,
                at: at(),
            },
            Effect::SetConsent {
                alias: "terms".into(),
                value: AttributeValue::Bool(true),
                at: at(),
            },
            Effect::SetConsent {
                alias: "terms".into(),
                value: AttributeValue::Null(true),
                at: at(),
            },
        ] {
            let write = change(effect.clone()).write("contacts").unwrap();
            let update = write.update().unwrap_or_else(|| panic!("{effect:?}"));
            assert_eq!(update.table_name(), "contacts");
            assert_eq!(update.key()["contactId"], s("t#c"), "the tenant's contact");
            let set = update.update_expression();
            assert!(
                set.ends_with(", #tenant = :tenant, #engageContactId = :engageContactId"),
                "{set}"
            );
            let values = update.expression_attribute_values().unwrap();
            assert_eq!(values[":engageContactId"], s("c"));
            assert_eq!(values[":tenant"], s("t"));
            assert!(update
                .condition_expression()
                .unwrap()
                .starts_with("attribute_not_exists(#deletedAt)"));
            assert_placeholders_match(update);
        }
    }

    #[test]
    fn conditions_follow_the_ordering_rules() {
        let condition = |effect| {
            change(effect)
                .write("t")
                .unwrap()
                .update()
                .unwrap()
                .condition_expression()
                .unwrap()
                .to_string()
        };
        let preference = condition(Effect::SetPreference {
            flag: item::ACCEPTS_EMAIL,
            value: false,
            at: at(),
        });
        assert!(
            preference.contains("(attribute_not_exists(#entry) OR #entry.#micros <= :micros)"),
            "equal times: the later arrival wins, as for profiles: {preference}"
        );
        assert!(!preference.contains("attribute_type"));
        let null = condition(Effect::SetConsent {
            alias: "a".into(),
            value: AttributeValue::Null(true),
            at: at(),
        });
        assert!(null.ends_with("AND attribute_not_exists(#entry)"));
        assert!(!null.contains("<"));
        let set = condition(Effect::SetConsent {
            alias: "a".into(),
            value: AttributeValue::S("yes".into()),
            at: at(),
        });
        assert!(set.contains("attribute_type(#entry.#value, :null)"));
    }

    #[test]
    fn a_snapshot_from_an_older_message_is_stale_and_one_without_a_time_applies() {
        let write = |message_time: Option<i64>| {
            let w = change(Effect::ReplaceProfile(Profile {
                fields: HashMap::new(),
                applied_at: "2026-01-20T15:28:38Z".into(),
                message_time: message_time.map(MessageTime::from_millis),
            }))
            .write("t")
            .unwrap();
            let u = w.update().unwrap().clone();
            (
                u.update_expression().to_string(),
                u.condition_expression().unwrap().to_string(),
                u.expression_attribute_values().unwrap().clone(),
            )
        };
        let (set, condition, values) = write(Some(1_768_922_918_984));
        assert!(set.contains(", #messageTime = :messageTime,"), "{set}");
        assert!(
            condition
                .ends_with("(attribute_not_exists(#messageTime) OR #messageTime <= :messageTime)"),
            "equal times fall back to arrival order: {condition}"
        );
        assert_eq!(
            values[":messageTime"],
            AttributeValue::N("1768922918984".into())
        );
        let (set, condition, _) = write(None);
        assert!(!set.contains("messageTime"), "the stored time stays: {set}");
        assert_eq!(condition, NOT_DELETED);
    }

    #[test]
    fn the_tombstone_is_an_unconditional_put_of_tombstone_attributes_only() {
        let write = change(Effect::Erase(Tombstone {
            deleted_at: "2026-01-20T15:28:38Z".into(),
            reason: Some("cancelled membership".into()),
            expires_at: 1,
        }))
        .write("t")
        .unwrap();
        let put = write.put().unwrap();
        assert!(put.condition_expression().is_none());
        assert_eq!(put.item()["contactId"], s("t#c"));
        assert_eq!(put.item()["tenant"], s("t"));
        assert_eq!(put.item()["engageContactId"], s("c"));
        let mut names: Vec<_> = put.item().keys().map(String::as_str).collect();
        names.sort();
        let mut want = item::TOMBSTONE_ATTRIBUTES.to_vec();
        want.sort();
        assert_eq!(names, want);
    }
}
