//! The promotion function: `promotion.multichannel.assigned`, each sent exactly once to
//! `PROMOTION_QUEUE_URL` for the retailer's voucher and coupon creation. The logic is the
//! shared fan-out function.

use engage_webhooks::{ConfigError, Family, FanOutFunction, PROMOTION_QUEUE_URL};

pub const FAMILY: Family = Family::Promotion;

/// Builds the function from the environment, once per cold start.
pub async fn from_env() -> Result<FanOutFunction, ConfigError> {
    FanOutFunction::from_env(FAMILY, PROMOTION_QUEUE_URL).await
}
