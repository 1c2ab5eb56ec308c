//! `template.yaml` keeps its contracts: capped functions and a throttled API (issue 9), retained
//! state and exact IAM (issue 10), the alarms, topic and dashboard (issue 11). Everything is
//! read from the template itself, as CloudFormation reads it (short-form tags included).

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use template_check::cfn::{self, get_att, Evaluator};
use template_check::iam::{self, CodeIndex, Grant, Site};
use template_check::{logical_prefix, repo_root, FAMILIES};

fn template() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        cfn::load(&repo_root().join("template.yaml")).expect("template.yaml parses")
    })
}

fn resources() -> &'static Map<String, Value> {
    template()["Resources"]
        .as_object()
        .expect("Resources is a mapping")
}

fn resource(id: &str) -> &'static Value {
    resources()
        .get(id)
        .unwrap_or_else(|| panic!("template.yaml has no resource {id}"))
}

fn of_type(kind: &str) -> Vec<(&'static str, &'static Value)> {
    resources()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

fn parameter(name: &str) -> &'static Value {
    template()["Parameters"]
        .get(name)
        .unwrap_or_else(|| panic!("template.yaml has no parameter {name}"))
}

fn r(id: &str) -> Value {
    json!({ "Ref": id })
}

fn att(id: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [id, attribute] })
}

/// The metrics namespace the functions are given, which the alarms must watch.
fn namespace() -> Value {
    json!({ "Fn::Sub": "EngageWebhooks/${AWS::StackName}" })
}

/// The function of each family: `(family, logical id)`, found by its build binary.
fn functions() -> Vec<(&'static str, &'static str)> {
    let mut found: Vec<(&str, &str)> = of_type("AWS::Serverless::Function")
        .into_iter()
        .map(|(id, f)| {
            let binary = f["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{id} names no binary"));
            (binary, id)
        })
        // The voucher relay is no webhook family: tests/relay.rs checks it.
        .filter(|(binary, _)| *binary != "relay")
        .collect();
    found.sort_by_key(|(family, _)| FAMILIES.iter().position(|f| f == family));
    let families: Vec<&str> = found.iter().map(|(family, _)| *family).collect();
    assert_eq!(families, FAMILIES, "one function per family");
    found
}

/// A function property as SAM applies it: the function's own, else the Globals one.
fn effective(function: &str, property: &str) -> Option<&'static Value> {
    resource(function)["Properties"]
        .get(property)
        .or_else(|| template()["Globals"]["Function"].get(property))
}

fn env_var(function: &str, name: &str) -> Option<&'static Value> {
    resource(function)["Properties"]["Environment"]["Variables"]
        .get(name)
        .or_else(|| template()["Globals"]["Function"]["Environment"]["Variables"].get(name))
}

fn alarms() -> Vec<(&'static str, &'static Value)> {
    of_type("AWS::CloudWatch::Alarm")
}

/// The single-metric alarms watching `metric` in `namespace` with exactly these dimensions.
fn alarms_on(namespace: &Value, metric: &str, dimensions: &[(&str, Value)]) -> Vec<&'static str> {
    let wanted: Vec<Value> = dimensions
        .iter()
        .map(|(name, value)| json!({ "Name": name, "Value": value }))
        .collect();
    alarms()
        .into_iter()
        .filter(|(_, a)| {
            let p = &a["Properties"];
            p["Namespace"] == *namespace
                && p["MetricName"] == metric
                && p["Dimensions"].as_array() == Some(&wanted)
        })
        .map(|(id, _)| id)
        .collect()
}

/// The one alarm on `metric` with these dimensions, with its properties.
fn the_alarm(namespace: &Value, metric: &str, dimensions: &[(&str, Value)]) -> &'static Value {
    let found = alarms_on(namespace, metric, dimensions);
    let [id] = found.as_slice() else {
        panic!("expected one alarm on {metric} {dimensions:?} in {namespace}, found {found:?}");
    };
    &resource(id)["Properties"]
}

#[test]
fn the_template_parses_with_its_short_form_tags() {
    assert_eq!(template()["Transform"], "AWS::Serverless-2016-10-31");
    let route = &resource("ContactApiRoute")["Properties"];
    assert_eq!(route["ApiId"], r("WebhookApi"), "!Ref becomes {{Ref: ...}}");
    assert_eq!(
        resource("LoyaltyQueue")["Properties"]["RedrivePolicy"]["deadLetterTargetArn"],
        att("LoyaltyDeadLetterQueue", "Arn"),
        "!GetAtt A.B becomes [A, B]"
    );
    assert_eq!(
        resource("LoyaltyQueue")["Properties"]["FifoQueue"]["Fn::If"][1],
        Value::Bool(true),
        "plain YAML scalars keep their types"
    );
    assert!(
        cfn::parse("a: !NotAFunction x").is_err(),
        "an unknown tag is an error, not silently a string"
    );
}

#[test]
fn every_function_is_capped_by_reserved_concurrency_from_its_parameter() {
    let wired =
        json!({ "Fn::If": ["ReserveConcurrency", r("ReservedConcurrency"), r("AWS::NoValue")] });
    for (_, function) in functions() {
        assert_eq!(
            effective(function, "ReservedConcurrentExecutions"),
            Some(&wired),
            "{function} is capped by the ReservedConcurrency parameter"
        );
    }
    let p = parameter("ReservedConcurrency");
    assert_eq!(p["Type"], "Number");
    let default = p["Default"].as_i64().expect("a numeric default");
    assert!(
        (20..=50).contains(&default),
        "the default ({default}) absorbs an Engage burst yet stays a cap"
    );
    assert_eq!(p["MinValue"], 0);
    let description = p["Description"].as_str().unwrap_or_default();
    assert!(description.contains("429") && description.contains("Function URL"));
    // 0 means "no reservation", never a reservation of 0 (which would stop the functions).
    let template = template();
    assert!(Evaluator::new(template, &[]).condition("ReserveConcurrency") == Ok(true));
    assert!(
        Evaluator::new(template, &[("ReservedConcurrency", "0")]).condition("ReserveConcurrency")
            == Ok(false)
    );
}

#[test]
fn the_http_api_is_throttled_from_its_parameters_and_serves_every_function() {
    let settings = &resource("WebhookApiStage")["Properties"]["DefaultRouteSettings"];
    assert_eq!(
        settings["ThrottlingBurstLimit"],
        r("ApiThrottlingBurstLimit")
    );
    assert_eq!(settings["ThrottlingRateLimit"], r("ApiThrottlingRateLimit"));
    for name in ["ApiThrottlingBurstLimit", "ApiThrottlingRateLimit"] {
        let p = parameter(name);
        assert_eq!(p["Type"], "Number", "{name}");
        assert!(
            p["MinValue"].as_i64() >= Some(1),
            "{name} can never block every request"
        );
        assert!(p["Default"].as_i64() >= Some(1), "{name}");
    }
    for (family, function) in functions() {
        let prefix = logical_prefix(family);
        let route = &resource(&format!("{prefix}ApiRoute"))["Properties"];
        assert_eq!(
            route["ApiId"],
            r("WebhookApi"),
            "{function}'s route is on the throttled API"
        );
        assert_eq!(route["RouteKey"], format!("POST /webhooks/{family}"));
        let integration = &resource(&format!("{prefix}ApiIntegration"))["Properties"];
        assert_eq!(integration["IntegrationUri"], att(function, "Arn"));
    }
}

#[test]
fn the_security_settings_and_metrics_namespace_reach_every_function() {
    let wired = [
        ("ENGAGE_ALLOWED_SOURCE_IPS", r("AllowedSourceIps")),
        ("ENGAGE_CUSTOM_HEADER", r("CustomHeaderName")),
        ("ENGAGE_TENANTS", r("EngageTenants")),
        ("ENGAGE_METRICS_NAMESPACE", namespace()),
    ];
    for (_, function) in functions() {
        for (var, value) in &wired {
            assert_eq!(env_var(function, var), Some(value), "{function} {var}");
        }
        for var in ["ENGAGE_SIGNING_SECRETS", "ENGAGE_CUSTOM_HEADER_TOKENS"] {
            assert_eq!(
                env_var(function, var),
                Some(&json!("")),
                "{function} {var}: declared for sam local, empty when deployed"
            );
        }
    }
    for (_, param) in &wired[..3] {
        let name = param["Ref"].as_str().expect("a parameter");
        assert_eq!(parameter(name)["Default"], "", "{name} is off by default");
    }
    let placeholder: Value = serde_json::from_str(
        resource("EngageSecret")["Properties"]["SecretString"]
            .as_str()
            .expect("a string"),
    )
    .expect("the placeholder secret is JSON");
    let mut fields = vec![
        "signingSecrets".to_string(),
        "payloadKeys".to_string(),
        "customHeaderTokens".to_string(),
    ];
    fields.extend(FAMILIES.iter().map(|f| format!("{f}SigningSecrets")));
    for field in fields {
        assert_eq!(
            placeholder[&field], "",
            "the created secret has an empty {field}"
        );
    }
}

#[test]
fn stateful_resources_are_retained_and_tables_protected() {
    let queues = of_type("AWS::SQS::Queue");
    let tables = of_type("AWS::DynamoDB::Table");
    assert_eq!(queues.len(), 4, "two queues and their dead-letter queues");
    assert_eq!(tables.len(), 2, "the dedup table and the contacts table");
    for (id, spec) in queues.iter().chain(&tables) {
        assert_eq!(spec["DeletionPolicy"], "Retain", "{id} survives sam delete");
        assert_eq!(
            spec["UpdateReplacePolicy"], "Retain",
            "{id} survives replacement"
        );
    }
    for (id, spec) in &tables {
        let p = &spec["Properties"];
        assert_eq!(p["DeletionProtectionEnabled"], true, "{id}");
        assert_eq!(
            p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true,
            "{id}"
        );
    }
}

#[test]
fn changing_fifo_queues_is_announced_loudly() {
    let description = parameter("FifoQueues")["Description"]
        .as_str()
        .unwrap_or_default();
    for words in [
        "REPLACES ALL FOUR QUEUES",
        "RETAINED",
        "messages",
        "delete them by hand",
    ] {
        assert!(description.contains(words), "FifoQueues says {words:?}");
    }
    // Where the reference lives (docs/deploy.md); whitespace folded so line wrapping does not matter.
    let deploy_doc = std::fs::read_to_string(repo_root().join("docs/deploy.md"))
        .expect("docs/deploy.md")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for words in [
        "## Changing `FifoQueues` on a deployed stack",
        "replaces all four queues",
        "**retained**",
        "aws sqs delete-queue",
    ] {
        assert!(
            deploy_doc.contains(words),
            "docs/deploy.md explains what changing FifoQueues does: {words:?}"
        );
    }
}

#[test]
fn functions_log_as_json_to_their_own_log_group() {
    let logging = template()["Globals"]["Function"]["LoggingConfig"].clone();
    assert_eq!(logging["LogFormat"], "JSON");
    assert_eq!(logging["ApplicationLogLevel"], r("LogLevel"));
    assert_eq!(
        logging["SystemLogLevel"],
        json!({ "Fn::FindInMap": ["SystemLogLevel", r("LogLevel"), "Level"] })
    );
    let levels = parameter("LogLevel")["AllowedValues"]
        .as_array()
        .expect("allowed values");
    for level in levels {
        let level = level.as_str().expect("a level");
        assert!(
            !["WARN", "ERROR", "FATAL"].contains(&level),
            "{level} would drop the metric lines (Lambda counts them as INFO)"
        );
        let evaluator = Evaluator::new(template(), &[("LogLevel", level)]);
        let system = evaluator
            .eval(&logging["SystemLogLevel"])
            .expect("every level has a system level");
        assert!(["DEBUG", "INFO", "WARN"].contains(&system.as_str().unwrap_or_default()));
    }
    for (family, function) in functions() {
        let group = resource(&format!("{}LogGroup", logical_prefix(family)));
        assert_eq!(
            group["Properties"]["LogGroupName"],
            json!({ "Fn::Sub": format!("/aws/lambda/${{{function}}}") }),
            "{function} logs to the group Lambda writes to"
        );
        assert_eq!(
            group["Properties"]["RetentionInDays"],
            r("LogRetentionDays")
        );
    }
}

/// Each function's role and its list, with the grants the role really has.
fn roles_and_lists() -> Vec<(&'static str, Vec<iam::ListedGrant>, BTreeSet<Grant>)> {
    functions()
        .into_iter()
        .map(|(family, function)| {
            let role = format!("{}FunctionRole", logical_prefix(family));
            assert_eq!(
                effective(function, "Role"),
                Some(&att(&role, "Arn")),
                "{function} runs with its own role (SAM's would add AWSLambdaBasicExecutionRole)"
            );
            assert!(
                effective(function, "Policies").is_none(),
                "{function}: a Role and Policies together would ignore the Policies"
            );
            let list = iam::read_list(&iam::list_path(&repo_root(), family))
                .unwrap_or_else(|e| panic!("{e}"));
            let grants = iam::role_grants(template(), &role).unwrap_or_else(|e| panic!("{e}"));
            (family, list, grants)
        })
        .collect()
}

#[test]
fn each_role_grants_exactly_its_listed_actions() {
    for (family, list, grants) in roles_and_lists() {
        let listed: BTreeSet<Grant> = list
            .iter()
            .filter(|g| g.granted)
            .map(|g| g.grant.clone())
            .collect();
        let extra: Vec<&Grant> = grants.difference(&listed).collect();
        let missing: Vec<&Grant> = listed.difference(&grants).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{family}: the role grants unlisted {extra:?} and lacks listed {missing:?} \
             (functions/{family}/iam-actions.txt)"
        );
        for g in &list {
            let lambda = g.sites.contains(&Site::Lambda);
            assert_eq!(
                lambda,
                g.grant.action.starts_with("logs:"),
                "{family}:{}: only the log writes are made by Lambda itself",
                g.line
            );
            assert!(!g.granted || !grants.is_empty());
        }
        let log_group = format!("{}LogGroup", logical_prefix(family));
        for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
            assert!(
                grants.contains(&Grant {
                    action: action.into(),
                    resource: log_group.clone()
                }),
                "{family} may write its own log group"
            );
        }
        assert!(
            grants
                .iter()
                .all(|g| !g.action.starts_with("logs:") || g.resource == log_group),
            "{family} writes no other log group"
        );
    }
}

/// Mirror functions never run fan-out code, and fan-out functions never run mirror code:
/// the two are siblings in shared/src (mirror/, fanout/) that only share the common modules.
fn foreign_module(family: &str) -> &'static str {
    match family {
        "contact" | "consent" => "fanout",
        _ => "mirror",
    }
}

#[test]
fn every_sdk_call_on_a_functions_code_path_is_in_its_list() {
    let root = repo_root();
    let index = CodeIndex::of_tree(&root.join("shared/src")).expect("shared/src is readable");
    let all_sites = index.call_sites();
    assert!(
        all_sites.len() >= 6,
        "the scan finds the shared crate's SDK calls ({all_sites:?})"
    );
    let mut reached_by_someone = BTreeSet::new();
    for (family, list, _) in roles_and_lists() {
        let roots = iam::names_used_in(&root.join("functions").join(family).join("src"))
            .expect("the function's sources are readable");
        let foreign = foreign_module(family);
        let reached: BTreeSet<(String, String, String)> = index
            .reachable(&roots, |file| file.contains(foreign))
            .into_iter()
            .flat_map(|f| &f.calls)
            .map(|c| (c.action.to_string(), c.file.clone(), c.function.clone()))
            .collect();
        let listed: BTreeSet<(String, String, String)> = list
            .iter()
            .flat_map(|g| {
                g.sites.iter().filter_map(|site| match site {
                    Site::Code { file, function } => {
                        Some((g.grant.action.clone(), file.clone(), function.clone()))
                    }
                    Site::Lambda => None,
                })
            })
            .collect();
        let unlisted: Vec<_> = reached.difference(&listed).collect();
        assert!(
            unlisted.is_empty(),
            "{family}'s code path makes calls its list does not name: {unlisted:?} \
             (add them to functions/{family}/iam-actions.txt and its role, or a `-` line \
             saying why the function never makes them)"
        );
        let stale: Vec<_> = listed.difference(&reached).collect();
        assert!(
            stale.is_empty(),
            "functions/{family}/iam-actions.txt names calls not on its code path: {stale:?}"
        );
        for (_, file, _) in &listed {
            assert!(!file.contains(foreign), "{family} lists {file}");
        }
        reached_by_someone.extend(reached);
    }
    for site in all_sites {
        let key = (
            site.action.to_string(),
            site.file.clone(),
            site.function.clone(),
        );
        assert!(
            reached_by_someone.contains(&key),
            "{}:{} ({}, {}) is on no function's code path: dead code, or the scan missed a path",
            site.file,
            site.line,
            site.function,
            site.action
        );
    }
}

#[test]
fn every_alarm_notifies_the_topic_and_the_email_is_optional() {
    assert_eq!(resource("AlarmTopic")["Type"], "AWS::SNS::Topic");
    for (id, alarm) in alarms() {
        let p = &alarm["Properties"];
        assert_eq!(
            p["AlarmActions"],
            json!([r("AlarmTopic")]),
            "{id} alarms the topic"
        );
        assert_eq!(
            p["OKActions"],
            json!([r("AlarmTopic")]),
            "{id} reports recovery"
        );
        let description = p["AlarmDescription"].as_str().unwrap_or_default();
        assert!(
            description.contains("docs/operations.md"),
            "{id} points to its runbook section"
        );
        assert!(p["AlarmName"]["Fn::Sub"]
            .as_str()
            .is_some_and(|n| n.starts_with("${AWS::StackName}-")));
    }
    let subscription = resource("AlarmEmailSubscription");
    assert_eq!(subscription["Condition"], "HasAlarmEmail");
    assert_eq!(subscription["Properties"]["TopicArn"], r("AlarmTopic"));
    assert_eq!(subscription["Properties"]["Endpoint"], r("AlarmEmail"));
    assert_eq!(parameter("AlarmEmail")["Default"], "");
    let t = template();
    assert_eq!(Evaluator::new(t, &[]).condition("HasAlarmEmail"), Ok(false));
    assert_eq!(
        Evaluator::new(t, &[("AlarmEmail", "oncall@example.com")]).condition("HasAlarmEmail"),
        Ok(true)
    );
}

fn assert_fires_above(p: &Value, threshold: Value, what: &str) {
    assert_eq!(p["ComparisonOperator"], "GreaterThanThreshold", "{what}");
    assert_eq!(p["Threshold"], threshold, "{what}");
    assert_eq!(
        p["TreatMissingData"], "notBreaching",
        "{what}: no data is no problem"
    );
}

#[test]
fn every_dead_letter_queue_alarms_on_one_message() {
    let dead_letter_queues: Vec<String> = of_type("AWS::SQS::Queue")
        .into_iter()
        .filter_map(|(_, q)| {
            get_att(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
                .map(|(id, _)| id.to_string())
        })
        .collect();
    assert_eq!(dead_letter_queues.len(), 2);
    for dlq in dead_letter_queues {
        let p = the_alarm(
            &json!("AWS/SQS"),
            "ApproximateNumberOfMessagesVisible",
            &[("QueueName", att(&dlq, "QueueName"))],
        );
        assert_eq!(p["Statistic"], "Maximum");
        assert_fires_above(p, json!(0), &dlq);
    }
}

#[test]
fn every_fan_out_queue_alarms_on_its_oldest_message() {
    let fan_out_queues: Vec<&str> = of_type("AWS::SQS::Queue")
        .into_iter()
        .filter(|(_, q)| q["Properties"].get("RedrivePolicy").is_some())
        .map(|(id, _)| id)
        .collect();
    assert_eq!(fan_out_queues, ["LoyaltyQueue", "PromotionQueue"]);
    for queue in fan_out_queues {
        let p = the_alarm(
            &json!("AWS/SQS"),
            "ApproximateAgeOfOldestMessage",
            &[("QueueName", att(queue, "QueueName"))],
        );
        assert_eq!(p["Statistic"], "Maximum");
        assert_fires_above(p, r("QueueAgeAlarmSeconds"), queue);
    }
}

#[test]
fn every_function_alarms_on_errors_and_throttles() {
    for (_, function) in functions() {
        for metric in ["Errors", "Throttles"] {
            let p = the_alarm(
                &json!("AWS/Lambda"),
                metric,
                &[("FunctionName", r(function))],
            );
            assert_eq!(p["Statistic"], "Sum");
            assert_fires_above(p, json!(0), &format!("{function} {metric}"));
        }
    }
}

#[test]
fn every_family_alarms_on_failed_cold_starts() {
    for family in FAMILIES {
        let p = the_alarm(
            &namespace(),
            "ColdStartFailures",
            &[("Family", json!(family))],
        );
        assert_eq!(p["Statistic"], "Sum");
        assert_fires_above(p, json!(0), family);
    }
}

/// The metric-math alarms: `(family, metric over Deliveries, threshold parameter)`.
#[test]
fn every_family_alarms_on_its_5xx_and_401_rates() {
    for family in FAMILIES {
        for (metric, threshold) in [
            ("ServerErrors", "ServerErrorRatePercent"),
            ("Unauthorized", "UnauthorizedRatePercent"),
        ] {
            let id = format!("{}{metric}RateAlarm", logical_prefix(family));
            let p = &resource(&id)["Properties"];
            let queries = p["Metrics"].as_array().expect("metric math");
            let stat_of = |name: &str| {
                queries.iter().find(|q| {
                    let m = &q["MetricStat"]["Metric"];
                    m["MetricName"] == name
                        && m["Namespace"] == namespace()
                        && m["Dimensions"] == json!([{ "Name": "Family", "Value": family }])
                        && q["MetricStat"]["Stat"] == "Sum"
                        && q["ReturnData"] == false
                })
            };
            let answers = stat_of(metric).unwrap_or_else(|| panic!("{id} reads {metric}"));
            let deliveries =
                stat_of("Deliveries").unwrap_or_else(|| panic!("{id} reads Deliveries"));
            // The rate itself; the returned expression gates it on volume (tests/alarms.rs).
            let rate = queries
                .iter()
                .find(|q| q["Id"] == "rate")
                .unwrap_or_else(|| panic!("{id} computes a rate"));
            let expression = rate["Expression"].as_str().unwrap_or_default();
            let (numerator, denominator) = expression.split_once('/').expect("a ratio");
            assert!(
                numerator.contains(answers["Id"].as_str().unwrap_or("?")),
                "{id}"
            );
            assert!(numerator.contains("100"), "{id}: a percentage");
            assert_eq!(denominator.trim(), deliveries["Id"], "{id}: per delivery");
            assert_fires_above(p, r(threshold), &id);
            assert_eq!(p["EvaluationPeriods"], 3, "{id}: sustained, not one blip");
            assert_eq!(p["DatapointsToAlarm"], 3, "{id}");
            assert_eq!(parameter(threshold)["Type"], "Number");
        }
    }
}

#[test]
fn every_enabled_family_has_a_silence_alarm() {
    for family in FAMILIES {
        let p = the_alarm(&namespace(), "Processed", &[("Family", json!(family))]);
        assert_eq!(p["Statistic"], "Sum");
        assert_eq!(p["Period"], 3600);
        assert_eq!(p["EvaluationPeriods"], r("SilenceHours"));
        assert_eq!(p["DatapointsToAlarm"], r("SilenceHours"));
        assert_eq!(p["ComparisonOperator"], "LessThanThreshold");
        assert_eq!(p["Threshold"], 1, "{family}: not one delivery processed");
        assert_eq!(
            p["TreatMissingData"], "breaching",
            "{family}: no data is silence"
        );
        let id = format!("{}SilenceAlarm", logical_prefix(family));
        assert_eq!(
            resource(&id)["Condition"],
            format!("{}Enabled", logical_prefix(family))
        );
    }
    let hours = parameter("SilenceHours");
    assert_eq!(hours["Default"], 24);
    // CloudWatch: Period x EvaluationPeriods is at most 7 days for periods of an hour or more.
    assert!(hours["MaxValue"].as_i64() <= Some(168) && hours["MinValue"].as_i64() >= Some(1));
    let t = template();
    let enabled = |families: &str| -> Vec<&str> {
        let evaluator = Evaluator::new(t, &[("EnabledFamilies", families)]);
        FAMILIES
            .into_iter()
            .filter(|f| {
                evaluator
                    .exists(&format!("{}SilenceAlarm", logical_prefix(f)))
                    .expect("the condition evaluates")
            })
            .collect()
    };
    assert_eq!(
        parameter("EnabledFamilies")["Default"],
        FAMILIES.join(","),
        "every family by default"
    );
    assert_eq!(enabled(&FAMILIES.join(",")), FAMILIES);
    assert_eq!(enabled("contact,consent"), ["contact", "consent"]);
    assert_eq!(enabled("promotion,loyalty"), ["loyalty", "promotion"]);
    assert_eq!(enabled("consent"), ["consent"]);
    assert!(enabled("").is_empty());
}

#[test]
fn the_alarms_are_exactly_those_of_the_runbook() {
    let mut expected = BTreeSet::new();
    for family in FAMILIES {
        let p = logical_prefix(family);
        for kind in [
            "ErrorsAlarm",
            "ThrottlesAlarm",
            "ColdStartFailuresAlarm",
            "ServerErrorsRateAlarm",
            "UnauthorizedRateAlarm",
            "SilenceAlarm",
            "RefusedAlarm",
            "EventAgeAlarm",
            "MetricsMissingAlarm",
        ] {
            expected.insert(format!("{p}{kind}"));
        }
    }
    for queue in ["Loyalty", "Promotion"] {
        expected.insert(format!("{queue}DeadLetterQueueAlarm"));
        expected.insert(format!("{queue}QueueAgeAlarm"));
        expected.insert(format!("{queue}DeadLetterQueueAgeAlarm"));
    }
    expected.insert("ApiThrottledAlarm".to_string());
    // The voucher relay's (tests/relay.rs).
    expected.extend(
        [
            "RelayPermanentFailuresAlarm",
            "RelayFailuresAlarm",
            "RelayErrorsAlarm",
        ]
        .map(String::from),
    );
    let found: BTreeSet<String> = alarms().into_iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(found, expected);
    let runbook =
        std::fs::read_to_string(repo_root().join("docs/operations.md")).expect("the runbook");
    for (id, alarm) in alarms() {
        let description = alarm["Properties"]["AlarmDescription"]
            .as_str()
            .unwrap_or_default();
        let section = description
            .split("docs/operations.md, section ")
            .nth(1)
            .map(|s| s.trim_end_matches('.'))
            .unwrap_or_else(|| panic!("{id} names its runbook section"));
        assert!(
            runbook
                .lines()
                .any(|l| l.starts_with("## ") && l.to_lowercase().contains(section)),
            "docs/operations.md has a section {section:?} for {id}"
        );
    }
}

/// The dashboard body, evaluated for one set of parameters and parsed.
fn dashboard(overrides: &[(&str, &str)]) -> Value {
    let evaluator = Evaluator::new(template(), overrides);
    let body = evaluator
        .eval(&resource("Dashboard")["Properties"]["DashboardBody"])
        .unwrap_or_else(|e| panic!("the dashboard body evaluates for {overrides:?}: {e}"));
    serde_json::from_str(body.as_str().expect("a string"))
        .unwrap_or_else(|e| panic!("the dashboard body is JSON for {overrides:?}: {e}"))
}

#[test]
fn the_dashboard_is_valid_json_and_shows_what_on_call_needs() {
    for families in ["contact,consent,loyalty,promotion", "consent", ""] {
        let overrides = [("EnabledFamilies", families)];
        let body = dashboard(&overrides);
        let widgets = body["widgets"].as_array().expect("widgets");
        let titles: Vec<String> = widgets
            .iter()
            .filter_map(|w| w["properties"]["title"].as_str())
            .map(str::to_lowercase)
            .collect();
        for wanted in [
            "deliveries by outcome",
            "latency",
            "event age",
            "duplicates",
            "queue depth",
            "oldest message",
            "alarms",
        ] {
            assert!(
                titles.iter().any(|t| t.contains(wanted)),
                "a widget shows {wanted} ({titles:?})"
            );
        }
        // The alarm widget shows every alarm that exists for these parameters.
        let evaluator = Evaluator::new(template(), &overrides);
        let existing: BTreeSet<String> = alarms()
            .into_iter()
            .filter(|(id, _)| evaluator.exists(id).expect("evaluates"))
            .map(|(id, _)| format!("<{id}.Arn>"))
            .collect();
        let shown: BTreeSet<String> = widgets
            .iter()
            .filter(|w| w["type"] == "alarm")
            .flat_map(|w| {
                w["properties"]["alarms"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        assert_eq!(shown, existing, "EnabledFamilies={families:?}");
        assert_eq!(
            existing.len(),
            // 38, the HTTP API's throttling alarm (default EntryPoint), the silence alarms
            39 + families.split(',').filter(|f| !f.is_empty()).count()
        );
    }
    // Metrics on the dashboard are the ones the functions publish (PLAN's EMF contract).
    let body = dashboard(&[]);
    let ours = "EngageWebhooks/engage-webhooks";
    let published = [
        "Deliveries",
        "Processed",
        "ServerErrors",
        "Unauthorized",
        "Latency",
        "EventAge",
        "AwsCalls",
        "ColdStartFailures",
        "Refused",
        "ApiThrottled",
    ];
    let mut seen = BTreeMap::new();
    for widget in body["widgets"].as_array().into_iter().flatten() {
        for metric in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            // Every entry is an array: `[namespace, name, dim, value, {options}]`, or
            // `[{"expression": ...}]` for a math or search expression.
            let fields = metric.as_array().expect("a metric entry is an array");
            if let Some(expression) = fields.first().and_then(|f| f["expression"].as_str()) {
                assert_eq!(fields.len(), 1, "{metric}");
                assert!(expression.contains(ours) && expression.contains("Deliveries"));
                continue;
            }
            let text = |i: usize| fields.get(i).and_then(Value::as_str).unwrap_or_default();
            match text(0) {
                // ApiThrottled (from the access log's metric filter) has no dimension.
                ns if ns == ours && text(1) == "ApiThrottled" => {}
                ns if ns == ours => {
                    assert!(published.contains(&text(1)), "{} is published", text(1));
                    assert_eq!(text(2), "Family");
                    assert!(FAMILIES.contains(&text(3)));
                }
                "AWS/ApiGateway" => {
                    assert_eq!(text(3), "<WebhookApi>", "{metric}");
                    assert_eq!(text(5), "$default", "{metric}");
                }
                "AWS/SQS" => assert!(text(3).ends_with(".QueueName>"), "{metric}"),
                "AWS/Lambda" => assert!(text(3).ends_with("Function>"), "{metric}"),
                other => panic!("unexpected namespace {other}"),
            }
            *seen.entry(text(1).to_string()).or_insert(0) += 1;
        }
    }
    for metric in [
        "Latency",
        "EventAge",
        "ApproximateNumberOfMessagesVisible",
        "ApiThrottled",
        "4xx",
    ] {
        assert!(seen.contains_key(metric), "the dashboard shows {metric}");
    }
}

#[test]
fn events_env_json_sets_only_declared_variables() {
    let text =
        std::fs::read_to_string(repo_root().join("events/env.json")).expect("events/env.json");
    let env: Value = serde_json::from_str(&text).expect("events/env.json is JSON");
    let by_function = env.as_object().expect("an object per function");
    assert!(!by_function.is_empty());
    for (function, vars) in by_function {
        assert_eq!(
            resource(function)["Type"],
            "AWS::Serverless::Function",
            "events/env.json names function {function}"
        );
        for name in vars.as_object().expect("variables").keys() {
            assert!(
                env_var(function, name).is_some(),
                "sam local invoke can set only declared variables: {function} {name}"
            );
        }
    }
}
