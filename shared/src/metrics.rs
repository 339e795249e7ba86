//! Metrics in CloudWatch Embedded Metric Format: one JSON line on stdout per data point, which CloudWatch Logs turns
//! into a metric of the `Wxtpl` namespace (no API call, nothing added to a request's latency). Dimensions are kept to
//! a few values each — never a mini-program's appid, which would make 10,000 metrics per name. Locally the lines land
//! in each function's log. Alarms on these metrics are in template.yaml.
use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "Wxtpl";

/// Adds one to `name` under the given dimensions.
pub fn count(name: &str, dimensions: &[(&str, &str)]) {
    emit(name, dimensions, 1.0, "Count");
}

/// Adds `n` to `name` under the given dimensions (a run's tally).
pub fn count_n(name: &str, dimensions: &[(&str, &str)], n: f64) {
    emit(name, dimensions, n, "Count");
}

/// Records a duration in milliseconds.
pub fn millis(name: &str, dimensions: &[(&str, &str)], value: i64) {
    emit(name, dimensions, value as f64, "Milliseconds");
}

/// Records an age or interval in seconds.
pub fn seconds(name: &str, dimensions: &[(&str, &str)], value: i64) {
    emit(name, dimensions, value as f64, "Seconds");
}

fn emit(name: &str, dimensions: &[(&str, &str)], value: f64, unit: &str) {
    println!(
        "{}",
        line(name, dimensions, value, unit, crate::clock::now_millis())
    );
}

/// One EMF document: the metric's definition under `_aws`, its dimensions and value as top-level fields.
fn line(name: &str, dimensions: &[(&str, &str)], value: f64, unit: &str, at_ms: i64) -> Value {
    let names: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [names],
                "Metrics": [{"Name": name, "Unit": unit}],
            }],
        }),
    );
    for (k, v) in dimensions {
        doc.insert((*k).into(), Value::String((*v).into()));
    }
    doc.insert(name.into(), json!(value));
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_point_is_an_emf_document_cloudwatch_can_read() {
        let v = line(
            "WechatCalls",
            &[("Endpoint", "commit"), ("Outcome", "ok")],
            1.0,
            "Count",
            1_700_000_000_000,
        );
        let def = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(def["Namespace"], "Wxtpl");
        assert_eq!(def["Dimensions"], json!([["Endpoint", "Outcome"]]));
        assert_eq!(
            def["Metrics"],
            json!([{"Name": "WechatCalls", "Unit": "Count"}])
        );
        // Every dimension named in the definition is a top-level string field, and so is the value.
        assert_eq!(v["Endpoint"], "commit");
        assert_eq!(v["Outcome"], "ok");
        assert_eq!(v["WechatCalls"], 1.0);
    }

    #[test]
    fn a_metric_without_dimensions_has_one_empty_dimension_set() {
        let v = line("X", &[], 3.0, "Seconds", 0);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
        assert_eq!(v["X"], 3.0);
    }
}
