//! Issue 14 items 4 and 6: `EntryPoint` creates only the entry point Engage is to call (so an
//! unused public URL cannot eat the reserved concurrency), the outputs give the URL to paste
//! either way, the queues' visibility timeout is a parameter, and `DedupTtlSeconds` is bounded
//! as the functions bound it.

use serde_json::{json, Value};
use std::sync::OnceLock;
use template_check::cfn::{self, Evaluator};
use template_check::{logical_prefix, repo_root, FAMILIES};

fn template() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        cfn::load(&repo_root().join("template.yaml")).expect("template.yaml parses")
    })
}

/// The entry-point resources of one family: HTTP API ones and Function URL ones.
fn api_resources(prefix: &str) -> Vec<String> {
    ["ApiIntegration", "ApiRoute", "ApiPermission"]
        .iter()
        .map(|s| format!("{prefix}{s}"))
        .collect()
}

fn url_resources(prefix: &str) -> Vec<String> {
    [
        "FunctionUrl",
        "FunctionUrlPublicPermissions",
        "FunctionURLInvokeAllowPublicAccess",
    ]
    .iter()
    .map(|s| format!("{prefix}{s}"))
    .collect()
}

#[test]
fn only_the_chosen_entry_point_exists() {
    let p = &template()["Parameters"]["EntryPoint"];
    assert_eq!(p["Default"], "HttpApi");
    assert_eq!(
        p["AllowedValues"],
        json!(["HttpApi", "FunctionUrl", "Both"])
    );
    for (choice, api, url) in [
        ("HttpApi", true, false),
        ("FunctionUrl", false, true),
        ("Both", true, true),
    ] {
        let e = Evaluator::new(template(), &[("EntryPoint", choice)]);
        for shared in ["WebhookApi", "WebhookApiStage", "ApiAccessLogGroup"] {
            assert_eq!(e.exists(shared), Ok(api), "{choice}: {shared}");
        }
        for family in FAMILIES {
            let prefix = logical_prefix(family);
            for id in api_resources(&prefix) {
                assert_eq!(e.exists(&id), Ok(api), "{choice}: {id}");
            }
            for id in url_resources(&prefix) {
                assert_eq!(e.exists(&id), Ok(url), "{choice}: {id}");
            }
            // No function declares a SAM-generated URL or route that would escape the choice.
            let function = &template()["Resources"][format!("{prefix}Function")]["Properties"];
            assert!(function.get("FunctionUrlConfig").is_none(), "{family}");
            assert!(function.get("Events").is_none(), "{family}");
        }
    }
}

#[test]
fn a_function_url_is_public_and_invocable_only_through_the_url() {
    let resources = &template()["Resources"];
    for family in FAMILIES {
        let prefix = logical_prefix(family);
        let function = json!({ "Ref": format!("{prefix}Function") });
        let url = &resources[format!("{prefix}FunctionUrl")]["Properties"];
        assert_eq!(url["AuthType"], "NONE");
        assert_eq!(url["TargetFunctionArn"], function);
        let public = &resources[format!("{prefix}FunctionUrlPublicPermissions")]["Properties"];
        assert_eq!(public["Action"], "lambda:InvokeFunctionUrl");
        assert_eq!(public["FunctionUrlAuthType"], "NONE");
        assert_eq!(public["FunctionName"], function);
        let invoke =
            &resources[format!("{prefix}FunctionURLInvokeAllowPublicAccess")]["Properties"];
        assert_eq!(invoke["Action"], "lambda:InvokeFunction");
        assert_eq!(
            invoke["InvokedViaFunctionUrl"], true,
            "{family}: only via the URL"
        );
        let api = &resources[format!("{prefix}ApiPermission")]["Properties"];
        assert_eq!(api["Principal"], "apigateway.amazonaws.com");
        let source = api["SourceArn"]["Fn::Sub"].as_str().unwrap_or_default();
        assert!(
            source.ends_with(&format!("/*/POST/webhooks/{family}")),
            "{family}: only its own route may invoke it ({source})"
        );
    }
}

#[test]
fn the_webhook_url_output_is_what_to_paste_for_every_choice() {
    let outputs = &template()["Outputs"];
    for (choice, expected_url) in [
        (
            "HttpApi",
            "https://<WebhookApi>.execute-api.eu-north-1.amazonaws.com/webhooks/",
        ),
        (
            "Both",
            "https://<WebhookApi>.execute-api.eu-north-1.amazonaws.com/webhooks/",
        ),
        ("FunctionUrl", ""),
    ] {
        let e = Evaluator::new(template(), &[("EntryPoint", choice)]);
        for family in FAMILIES {
            let prefix = logical_prefix(family);
            let value = e
                .eval(&outputs[format!("{prefix}WebhookUrl")]["Value"])
                .unwrap_or_else(|err| panic!("{choice} {family}: {err}"));
            let wanted = if expected_url.is_empty() {
                format!("<{prefix}FunctionUrl.FunctionUrl>")
            } else {
                format!("{expected_url}{family}")
            };
            assert_eq!(value, json!(wanted), "{choice} {family}");
            // The per-entry-point outputs exist only with their entry point.
            for (output, condition) in [("FunctionUrl", "UseFunctionUrl"), ("ApiUrl", "UseHttpApi")]
            {
                let o = &outputs[format!("{prefix}{output}")];
                assert_eq!(o["Condition"], condition, "{prefix}{output}");
                let exists = e.condition(condition).expect("evaluates");
                if exists {
                    assert!(e.eval(&o["Value"]).is_ok(), "{choice}: {prefix}{output}");
                }
            }
        }
    }
}

#[test]
fn the_queues_visibility_timeout_is_a_parameter() {
    let p = &template()["Parameters"]["QueueVisibilityTimeout"];
    assert_eq!(p["Type"], "Number");
    assert_eq!(p["MinValue"], 0);
    assert_eq!(p["MaxValue"], 43200, "SQS's maximum, 12 hours");
    for queue in ["LoyaltyQueue", "PromotionQueue"] {
        assert_eq!(
            template()["Resources"][queue]["Properties"]["VisibilityTimeout"],
            json!({ "Ref": "QueueVisibilityTimeout" }),
            "{queue}"
        );
    }
}

#[test]
fn the_dedup_ttl_is_at_most_one_year_as_the_functions_accept() {
    let p = &template()["Parameters"]["DedupTtlSeconds"];
    assert_eq!(p["MaxValue"], 31_536_000);
    assert_eq!(p["MinValue"], 100_800);
    let default = p["Default"].as_i64().expect("numeric");
    assert!((100_800..=31_536_000).contains(&default));
}
