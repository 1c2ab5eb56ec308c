//! Typed payloads of the eleven event types.
//!
//! The models validate what the functions rely on and read the fields they use. They are
//! not what travels downstream: the queue message and the mirror carry the payload as Engage
//! sent it, so fields we don't model are kept, and numbers keep their exact digits.
//! Field names follow Engage's examples; where Voyado's own examples disagree on casing
//! (`reward.voucher.created` is PascalCase) both spellings are accepted.

mod contact;
mod loyalty;
mod promotion;
mod scalar;

pub use contact::{ConsentChanged, ContactDeleted, ContactProfile, PreferenceChanged};
pub use loyalty::{PointBalanceUpdated, PointsAdded, RewardVoucherCreated};
pub use promotion::PromotionAssigned;
pub use scalar::{Decimal, Id};
