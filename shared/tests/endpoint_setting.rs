//! The template declares `AWS_ENDPOINT_URL` empty (so `sam local invoke --env-vars` can set
//! it). Deployed it stays empty, which must change nothing: no endpoint override reaches the
//! SDK config, and nothing is left in the environment for a service client to read. Set, it points every client at the local AWS.
//!
//! One test function: the cases change the process environment, which tests in the same
//! binary would otherwise race on.

use engage_webhooks::{load_aws_config, ENDPOINT_URL_VAR};

#[tokio::test]
async fn an_empty_endpoint_setting_is_unset_and_a_set_one_reaches_every_client() {
    std::env::set_var("AWS_REGION", "eu-north-1");

    for blank in ["", "  "] {
        std::env::set_var(ENDPOINT_URL_VAR, blank);
        let sdk = load_aws_config().await;
        assert_eq!(
            sdk.endpoint_url(),
            None,
            "blank {blank:?} became an endpoint"
        );
        // Each service client re-reads AWS_ENDPOINT_URL from the process environment when
        // it is built from the SDK config (and would take "" as its endpoint): it must be gone.
        assert!(
            std::env::var_os(ENDPOINT_URL_VAR).is_none(),
            "blank {blank:?} left in the environment for the service clients to read"
        );
    }

    std::env::remove_var(ENDPOINT_URL_VAR);
    let sdk = load_aws_config().await;
    assert_eq!(sdk.endpoint_url(), None);

    std::env::set_var(ENDPOINT_URL_VAR, "http://127.0.0.1:5000");
    let sdk = load_aws_config().await;
    assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:5000"));
    std::env::remove_var(ENDPOINT_URL_VAR);
}
