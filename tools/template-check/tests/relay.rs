//! The voucher relay's part of `template.yaml` (issue 16): created only with a voucher service
//! URL, on both queues with partial batch failures and capped concurrency, inside the queues'
//! visibility timeout, with exactly the IAM it lists, its alarms and its dashboard.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::OnceLock;
use template_check::cfn::{self, Evaluator};
use template_check::iam::{self, Grant};
use template_check::repo_root;

fn template() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        cfn::load(&repo_root().join("template.yaml")).expect("template.yaml parses")
    })
}

fn resource(id: &str) -> &'static Value {
    template()["Resources"]
        .get(id)
        .unwrap_or_else(|| panic!("template.yaml has no resource {id}"))
}

fn relay_resources() -> Vec<&'static str> {
    template()["Resources"]
        .as_object()
        .expect("Resources is a mapping")
        .iter()
        .filter(|(id, _)| id.starts_with("Relay"))
        .map(|(id, _)| id.as_str())
        .collect()
}

#[test]
fn the_relay_exists_only_with_a_voucher_service_url() {
    let t = template();
    assert_eq!(t["Parameters"]["VoucherServiceUrl"]["Default"], "");
    let ids = relay_resources();
    assert!(ids.len() >= 8, "{ids:?}");
    for id in &ids {
        assert_eq!(resource(id)["Condition"], "RelayEnabled", "{id}");
        assert_eq!(Evaluator::new(t, &[]).exists(id), Ok(false), "{id}");
        assert_eq!(
            Evaluator::new(
                t,
                &[("VoucherServiceUrl", "https://vouchers.example.com/v1")]
            )
            .exists(id),
            Ok(true),
            "{id}"
        );
    }
    for output in ["RelaySecretArn", "RelayDashboardUrl"] {
        assert_eq!(t["Outputs"][output]["Condition"], "RelayEnabled");
    }
}

#[test]
fn both_queues_trigger_it_with_partial_failures_and_capped_concurrency() {
    let p = &resource("RelayFunction")["Properties"];
    assert_eq!(
        resource("RelayFunction")["Metadata"]["BuildProperties"]["Binary"],
        "relay"
    );
    for (event, queue) in [
        ("LoyaltyQueue", "LoyaltyQueue"),
        ("PromotionQueue", "PromotionQueue"),
    ] {
        let e = &p["Events"][event];
        assert_eq!(e["Type"], "SQS");
        let ep = &e["Properties"];
        assert_eq!(ep["Queue"], json!({"Fn::GetAtt": [queue, "Arn"]}));
        assert_eq!(
            ep["FunctionResponseTypes"],
            json!(["ReportBatchItemFailures"])
        );
        assert_eq!(
            ep["ScalingConfig"]["MaximumConcurrency"],
            json!({"Ref": "RelayMaxConcurrency"})
        );
        assert_eq!(ep["BatchSize"], json!({"Ref": "RelayBatchSize"}));
    }
    let vars = &p["Environment"]["Variables"];
    assert_eq!(
        vars["VOUCHER_SERVICE_URL"],
        json!({"Ref": "VoucherServiceUrl"})
    );
    assert_eq!(
        vars["RELAY_RATE_PER_SECOND"],
        json!({"Ref": "RelayRatePerSecond"})
    );
    assert_eq!(
        vars["RELAY_MAX_CONCURRENCY"],
        json!({"Ref": "RelayMaxConcurrency"})
    );
    assert_eq!(vars["RELAY_SECRET_ARN"], json!({"Ref": "RelaySecret"}));
    // Lambda's SQS minimum for MaximumConcurrency is 2.
    assert_eq!(
        template()["Parameters"]["RelayMaxConcurrency"]["MinValue"],
        2
    );
}

#[test]
fn a_full_batch_of_bounded_requests_fits_inside_the_visibility_timeout() {
    let t = template();
    let timeout = resource("RelayFunction")["Properties"]["Timeout"]
        .as_u64()
        .expect("a numeric timeout");
    for queue in ["LoyaltyQueue", "PromotionQueue"] {
        let visibility = resource(queue)["Properties"]["VisibilityTimeout"]
            .as_u64()
            .unwrap_or(30);
        assert!(
            timeout <= visibility,
            "{queue}: Lambda refuses a timeout above it"
        );
    }
    let max_batch = t["Parameters"]["RelayBatchSize"]["MaxValue"]
        .as_u64()
        .unwrap();
    let max_request_ms = t["Parameters"]["RelayRequestTimeoutMs"]["MaxValue"]
        .as_u64()
        .unwrap();
    // The relay keeps 2 s for its SQS calls and stops before a request could overrun.
    assert!(max_batch * max_request_ms + 2000 <= timeout * 1000);
}

#[test]
fn the_role_grants_exactly_the_listed_actions() {
    let list =
        iam::read_list(&iam::list_path(&repo_root(), "relay")).unwrap_or_else(|e| panic!("{e}"));
    let listed: BTreeSet<Grant> = list
        .iter()
        .filter(|g| g.granted)
        .map(|g| g.grant.clone())
        .collect();
    let grants =
        iam::role_grants(template(), "RelayFunctionRole").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(grants, listed);
    assert!(grants
        .iter()
        .all(|g| !g.action.starts_with("logs:") || g.resource == "RelayLogGroup"));
    assert!(!grants.iter().any(|g| g.action.starts_with("dynamodb:")));
}

#[test]
fn permanent_failures_alarm_and_the_dashboard_shows_the_relay() {
    let p = &resource("RelayPermanentFailuresAlarm")["Properties"];
    assert_eq!(p["MetricName"], "Permanent");
    assert_eq!(
        p["Namespace"],
        json!({"Fn::Sub": "EngageWebhooks/${AWS::StackName}"})
    );
    assert_eq!(
        p["Dimensions"],
        json!([{"Name": "Family", "Value": "relay"}])
    );
    assert_eq!(p["Threshold"], 0);
    assert_eq!(p["AlarmActions"], json!([{"Ref": "AlarmTopic"}]));
    let runbook = std::fs::read_to_string(repo_root().join("docs/operations.md")).unwrap();
    assert!(runbook
        .lines()
        .any(|l| l.starts_with("## ") && l.to_lowercase().contains("voucher relay")));
    let body = resource("RelayDashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("a Sub body");
    for metric in [
        "\"Relayed\"",
        "\"Failed\"",
        "\"Permanent\"",
        "\"DownstreamLatency\"",
    ] {
        assert!(body.contains(metric), "{metric}");
    }
    let filled = body
        .replace("${AWS::StackName}", "s")
        .replace("${AWS::Region}", "r");
    let filled = [
        "RelayPermanentFailuresAlarm",
        "RelayFailuresAlarm",
        "RelayErrorsAlarm",
    ]
    .iter()
    .fold(filled, |b, a| b.replace(&format!("${{{a}.Arn}}"), "arn"));
    serde_json::from_str::<Value>(&filled).expect("the dashboard body is JSON");
}
