//! Issue 14 item 5: alarms for what fails quietly. Correctly signed refusals, events close to
//! Svix giving up, a function invoked without metrics, an ageing dead-letter message, the HTTP
//! API's own 429s, and rate alarms that need a minimum volume.

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

fn props(id: &str) -> &'static Value {
    let r = &template()["Resources"][id];
    assert!(r.is_object(), "template.yaml has {id}");
    &r["Properties"]
}

fn namespace() -> Value {
    json!({ "Fn::Sub": "EngageWebhooks/${AWS::StackName}" })
}

fn family_dim(family: &str) -> Value {
    json!([{ "Name": "Family", "Value": family }])
}

#[test]
fn every_family_alarms_on_one_correctly_signed_refusal() {
    for family in FAMILIES {
        let p = props(&format!("{}RefusedAlarm", logical_prefix(family)));
        assert_eq!(p["Namespace"], namespace());
        assert_eq!(p["MetricName"], "Refused");
        assert_eq!(p["Dimensions"], family_dim(family));
        assert_eq!(p["Statistic"], "Sum");
        assert_eq!(p["Threshold"], 0);
        assert_eq!(p["ComparisonOperator"], "GreaterThanThreshold");
        assert_eq!(p["TreatMissingData"], "notBreaching");
    }
}

#[test]
fn every_family_alarms_on_events_twelve_hours_old() {
    for family in FAMILIES {
        let p = props(&format!("{}EventAgeAlarm", logical_prefix(family)));
        assert_eq!(p["MetricName"], "EventAge");
        assert_eq!(p["Namespace"], namespace());
        assert_eq!(p["Dimensions"], family_dim(family));
        assert_eq!(
            p["Statistic"], "Maximum",
            "{family}: one old event is enough"
        );
        assert_eq!(
            p["Threshold"],
            12 * 3600 * 1000,
            "12 h in EventAge's milliseconds"
        );
        assert_eq!(p["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
    }
}

#[test]
fn every_family_alarms_when_invoked_without_metrics() {
    for family in FAMILIES {
        let prefix = logical_prefix(family);
        let p = props(&format!("{prefix}MetricsMissingAlarm"));
        let queries = p["Metrics"].as_array().expect("metric math");
        let by_id = |id: &str| {
            queries
                .iter()
                .find(|q| q["Id"] == id)
                .unwrap_or_else(|| panic!("{family}: query {id}"))
        };
        let invocations = &by_id("invocations")["MetricStat"]["Metric"];
        assert_eq!(invocations["Namespace"], "AWS/Lambda");
        assert_eq!(invocations["MetricName"], "Invocations");
        assert_eq!(
            invocations["Dimensions"],
            json!([{ "Name": "FunctionName", "Value": { "Ref": format!("{prefix}Function") } }])
        );
        let deliveries = &by_id("deliveries")["MetricStat"]["Metric"];
        assert_eq!(deliveries["MetricName"], "Deliveries");
        assert_eq!(deliveries["Namespace"], namespace());
        assert_eq!(deliveries["Dimensions"], family_dim(family));
        let missing = by_id("missing");
        assert_eq!(missing["ReturnData"], true);
        let expression = missing["Expression"].as_str().unwrap_or_default();
        for part in [
            "invocations > 0",
            "FILL(deliveries, 0) == 0",
            "FILL(coldstarts, 0) == 0",
        ] {
            assert!(
                expression.contains(part),
                "{family}: {expression} has {part}"
            );
        }
        assert_eq!(p["Threshold"], 1);
        assert_eq!(p["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
        assert_eq!(
            p["TreatMissingData"], "notBreaching",
            "{family}: never invoked is not broken"
        );
    }
}

#[test]
fn every_dead_letter_queue_alarms_a_week_before_sqs_deletes() {
    for queue in ["Loyalty", "Promotion"] {
        let retention = props(&format!("{queue}DeadLetterQueue"))["MessageRetentionPeriod"]
            .as_i64()
            .expect("retention");
        let p = props(&format!("{queue}DeadLetterQueueAgeAlarm"));
        assert_eq!(p["MetricName"], "ApproximateAgeOfOldestMessage");
        assert_eq!(
            p["Dimensions"],
            json!([{ "Name": "QueueName", "Value": { "Fn::GetAtt": [format!("{queue}DeadLetterQueue"), "QueueName"] } }])
        );
        assert_eq!(p["Threshold"], 604_800, "7 days");
        assert_eq!(retention - 604_800, 604_800, "{queue}: 7 days left to act");
    }
}

#[test]
fn the_api_counts_and_alarms_on_its_own_429s_only_when_it_exists() {
    let filter = props("ApiThrottledMetricFilter");
    assert_eq!(
        filter["LogGroupName"],
        json!({ "Ref": "ApiAccessLogGroup" })
    );
    assert_eq!(filter["FilterPattern"], r#"{ $.status = "429" }"#);
    let t = &filter["MetricTransformations"][0];
    assert_eq!(t["MetricName"], "ApiThrottled");
    assert_eq!(t["MetricNamespace"], namespace());
    let format = props("WebhookApiStage")["AccessLogSettings"]["Format"]
        .as_str()
        .unwrap_or_default();
    let line: Value = serde_json::from_str(format).expect("the access log line is JSON");
    assert_eq!(
        line["status"], "$context.status",
        "quoted, as the filter matches it"
    );
    assert!(
        !format.contains("sourceIp") && !format.contains("header"),
        "no address or header (token) in the access log"
    );
    assert_eq!(
        props("ApiAccessLogGroup")["RetentionInDays"],
        json!({ "Ref": "LogRetentionDays" })
    );
    let p = props("ApiThrottledAlarm");
    assert_eq!(p["MetricName"], "ApiThrottled");
    assert_eq!(p["Namespace"], namespace());
    for (choice, exists) in [("HttpApi", true), ("Both", true), ("FunctionUrl", false)] {
        let e = Evaluator::new(template(), &[("EntryPoint", choice)]);
        for id in [
            "ApiThrottledAlarm",
            "ApiThrottledMetricFilter",
            "ApiAccessLogGroup",
        ] {
            assert_eq!(e.exists(id), Ok(exists), "{choice}: {id}");
        }
        // The dashboard's alarm list evaluates (and so names no absent alarm) for each choice.
        let body = e
            .eval(&template()["Resources"]["Dashboard"]["Properties"]["DashboardBody"])
            .unwrap_or_else(|err| panic!("{choice}: {err}"));
        let body: Value = serde_json::from_str(body.as_str().unwrap_or_default())
            .unwrap_or_else(|err| panic!("{choice}: dashboard JSON: {err}"));
        let shown = body.to_string().contains("<ApiThrottledAlarm.Arn>");
        assert_eq!(shown, exists, "{choice}");
    }
}

#[test]
fn rate_alarms_need_a_minimum_volume() {
    let p = &template()["Parameters"]["RateAlarmMinDeliveries"];
    assert_eq!(p["Default"], 20);
    assert_eq!(p["MinValue"], 1);
    for family in FAMILIES {
        for kind in ["ServerErrorsRateAlarm", "UnauthorizedRateAlarm"] {
            let id = format!("{}{kind}", logical_prefix(family));
            let queries = props(&id)["Metrics"].as_array().expect("metric math");
            let returned: Vec<&Value> =
                queries.iter().filter(|q| q["ReturnData"] == true).collect();
            let [gated] = returned.as_slice() else {
                panic!("{id} returns one expression");
            };
            let e = Evaluator::new(template(), &[("RateAlarmMinDeliveries", "35")]);
            let expression = e.eval(&gated["Expression"]).expect("evaluates");
            assert_eq!(
                expression,
                json!("IF(deliveries >= 35, rate, 0)"),
                "{id}: below the volume the value is 0, never above the threshold"
            );
        }
    }
}
