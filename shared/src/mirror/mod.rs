//! The contact mirror in DynamoDB (`CONTACTS_TABLE`), kept by the contact and consent
//! functions and read directly by the shops (My Pages, checkout). Engage is the master; the
//! mirror must end up right whatever order Svix delivers events in. See `the README's contact mirror section`.
//!
//! - [`item`]: the item's shape (attribute names, the tombstone).
//! - [`attribute`]: Engage's JSON as DynamoDB values, numbers exact.
//! - [`change_time`]: `dateChanged` (or the Svix timestamp) as an orderable instant.
//! - [`change`]: what an event changes, read and validated from its payload.
//! - [`write`]: that change as a conditional DynamoDB write (the ordering rules).
//! - [`commit`]: the write and the event's dedup record in one transaction.
//! - [`function`]: the Lambda function built on them.

pub mod attribute;
pub mod change;
pub mod change_time;
pub mod commit;
pub mod function;
pub mod item;
pub mod write;

pub use change::{Effect, MirrorChange};
pub use change_time::ChangeTime;
pub use commit::MirrorStore;
pub use function::MirrorFunction;
