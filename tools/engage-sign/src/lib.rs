//! Signs (and optionally encrypts) Engage webhook envelopes the way Svix and Engage do, for
//! the sample events in `events/sam/`, the local demo, deliveries to a deployed function and
//! the functions' tests (through `engage-testkit`).
//!
//! Envelopes are handled as JSON text, never as parsed numbers: the only transformation is
//! removing insignificant whitespace, so every number, string and unknown field travels with
//! exactly the bytes it had in the file.
//!
//! - [`envelope`]: reading and editing an envelope's fields, encrypting its payload.
//! - [`signing`]: the Svix headers of one delivery attempt.
//! - [`settings`]: the signing secret and payload key, from the environment or `events/local.env`.
//! - [`samples`]: the `sam local invoke` events of `events/sam/` and `events/env.json`.
//! - [`http`]: the request on the wire: POSTed, or printed as a `curl` command.

pub mod envelope;
pub mod http;
pub mod samples;
pub mod settings;
pub mod signing;

pub use envelope::{minify, prepare, Fields, Options, Prepared};
pub use http::{answer_reason, curl_command, shell_quote};
pub use samples::{
    encrypted_sample_id, env_json, function_logical_id, read_envelopes, sam_event, sample_events,
    SampleEvent, FAMILIES,
};
pub use settings::{find_root, parse_env_file, Secrets};
pub use signing::{new_msg_id, now_seconds, sign, SignedHeaders};
