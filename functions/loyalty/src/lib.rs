//! The loyalty function: `loyalty.addPoints`, `point.balance.updated` and
//! `reward.voucher.created`, each sent exactly once to `LOYALTY_QUEUE_URL` for the retailer's
//! voucher and coupon creation. The logic is the shared fan-out function.

use engage_webhooks::{ConfigError, Family, FanOutFunction, LOYALTY_QUEUE_URL};

pub const FAMILY: Family = Family::Loyalty;

/// Builds the function from the environment, once per cold start.
pub async fn from_env() -> Result<FanOutFunction, ConfigError> {
    FanOutFunction::from_env(FAMILY, LOYALTY_QUEUE_URL).await
}
