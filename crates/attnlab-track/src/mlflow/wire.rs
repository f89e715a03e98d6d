//! JSON encoding of MLflow entities and the deterministic split of a batch.

use std::ops::Range;

use serde_json::{Value, json};

use super::client::RemoteMetric;
use super::MlflowError;

/// `runs/log-batch` limits of the MLflow server (`mlflow/utils/validation.py`).
pub const MAX_METRICS_PER_BATCH: usize = 1000;
pub const MAX_PARAMS_PER_BATCH: usize = 100;
pub const MAX_TAGS_PER_BATCH: usize = 100;
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
/// The server refuses a log-batch body over 1,000,000 bytes; keep a margin
/// for the envelope (`run_id`, field names, brackets).
pub const MAX_BATCH_BYTES: usize = 1_000_000 - 4_096;

/// A metric value as protobuf JSON spells doubles: non-finite as strings.
pub fn encode_value(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v == f64::INFINITY {
        json!("Infinity")
    } else if v == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(v)
    }
}

pub fn decode_value(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

/// An int64 field: protobuf JSON may send it as a number or a string; absent is 0.
fn decode_i64(v: Option<&Value>) -> Option<i64> {
    match v {
        None | Some(Value::Null) => Some(0),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
}

pub fn metric_json(m: &RemoteMetric) -> Value {
    json!({ "key": m.key, "value": encode_value(m.value), "timestamp": m.timestamp_ms, "step": m.step })
}

/// A metric of `endpoint`'s answer; a malformed one is [`MlflowError::Decode`].
pub fn parse_metric(endpoint: &'static str, v: &Value) -> Result<RemoteMetric, MlflowError> {
    let bad = || MlflowError::Decode { endpoint, message: format!("malformed metric {v}") };
    Ok(RemoteMetric {
        key: v
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(bad)?
            .to_owned(),
        value: v.get("value").and_then(decode_value).ok_or_else(bad)?,
        step: decode_i64(v.get("step")).ok_or_else(bad)?,
        timestamp_ms: decode_i64(v.get("timestamp")).ok_or_else(bad)?,
    })
}

pub fn key_values(kv: &[(String, String)]) -> Vec<Value> {
    kv.iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect()
}

/// One request's share of each input slice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    pub metrics: Range<usize>,
    pub params: Range<usize>,
    pub tags: Range<usize>,
}

/// Splits a batch into requests within the server's limits. Each chunk takes
/// the next contiguous range of params (up to 100), then tags (up to 100),
/// then metrics, up to 1000 entities and [`MAX_BATCH_BYTES`] of JSON. A pure
/// function of the encoded inputs, so a resend after a partial failure
/// splits the remainder the same way every time. A single entity larger
/// than the byte budget still gets a chunk of its own (the server will
/// refuse it, and the error says so).
pub fn plan_chunks(metrics: &[Value], params: &[Value], tags: &[Value]) -> Vec<Chunk> {
    let size = |v: &Value| v.to_string().len() + 1; // + separating comma
    let (mut mi, mut pi, mut ti) = (0, 0, 0);
    let mut out = Vec::new();
    while mi < metrics.len() || pi < params.len() || ti < tags.len() {
        let (m0, p0, t0) = (mi, pi, ti);
        let mut bytes = 0;
        let mut n = 0;
        let fits = |bytes: usize, add: usize, n: usize| n == 0 || bytes + add <= MAX_BATCH_BYTES;
        while pi < params.len() && pi - p0 < MAX_PARAMS_PER_BATCH && n < MAX_ENTITIES_PER_BATCH {
            let s = size(&params[pi]);
            if !fits(bytes, s, n) {
                break;
            }
            bytes += s;
            n += 1;
            pi += 1;
        }
        while ti < tags.len() && ti - t0 < MAX_TAGS_PER_BATCH && n < MAX_ENTITIES_PER_BATCH {
            let s = size(&tags[ti]);
            if !fits(bytes, s, n) {
                break;
            }
            bytes += s;
            n += 1;
            ti += 1;
        }
        while mi < metrics.len() && mi - m0 < MAX_METRICS_PER_BATCH && n < MAX_ENTITIES_PER_BATCH {
            let s = size(&metrics[mi]);
            if !fits(bytes, s, n) {
                break;
            }
            bytes += s;
            n += 1;
            mi += 1;
        }
        out.push(Chunk {
            metrics: m0..mi,
            params: p0..pi,
            tags: t0..ti,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(k: usize) -> Vec<Value> {
        (0..k)
            .map(|i| json!({ "key": format!("k{i}"), "value": "v" }))
            .collect()
    }

    fn check_cover(chunks: &[Chunk], m: usize, p: usize, t: usize) {
        let (mut em, mut ep, mut et) = (0, 0, 0);
        for c in chunks {
            assert_eq!(
                (c.metrics.start, c.params.start, c.tags.start),
                (em, ep, et)
            );
            assert!(c.metrics.len() <= MAX_METRICS_PER_BATCH);
            assert!(c.params.len() <= MAX_PARAMS_PER_BATCH);
            assert!(c.tags.len() <= MAX_TAGS_PER_BATCH);
            assert!(c.metrics.len() + c.params.len() + c.tags.len() <= MAX_ENTITIES_PER_BATCH);
            assert!(c.metrics.len() + c.params.len() + c.tags.len() > 0);
            (em, ep, et) = (c.metrics.end, c.params.end, c.tags.end);
        }
        assert_eq!((em, ep, et), (m, p, t));
    }

    #[test]
    fn chunks_respect_limits_and_cover_everything() {
        for (m, p, t) in [
            (0, 0, 0),
            (1, 0, 0),
            (2500, 150, 120),
            (1000, 100, 100),
            (0, 350, 0),
            (999, 1, 1),
        ] {
            let chunks = plan_chunks(&n(m), &n(p), &n(t));
            check_cover(&chunks, m, p, t);
        }
        let c = plan_chunks(&n(2500), &n(150), &n(120));
        assert_eq!(
            c[0],
            Chunk {
                metrics: 0..800,
                params: 0..100,
                tags: 0..100
            }
        );
        assert_eq!(
            c[1],
            Chunk {
                metrics: 800..1730,
                params: 100..150,
                tags: 100..120
            }
        );
        assert_eq!(
            c[2],
            Chunk {
                metrics: 1730..2500,
                params: 150..150,
                tags: 120..120
            }
        );
        assert!(plan_chunks(&[], &[], &[]).is_empty());
    }

    #[test]
    fn chunks_respect_byte_budget() {
        let big: Vec<Value> = (0..100)
            .map(|i| json!({ "key": format!("t{i}"), "value": "x".repeat(8000) }))
            .collect();
        let chunks = plan_chunks(&n(10), &big, &big);
        check_cover(&chunks, 10, 100, 100);
        for c in &chunks {
            let bytes: usize = big[c.params.clone()]
                .iter()
                .chain(&big[c.tags.clone()])
                .map(|v| v.to_string().len() + 1)
                .sum();
            assert!(bytes <= MAX_BATCH_BYTES);
        }
        assert!(chunks.len() >= 2);
    }

    #[test]
    fn values_round_trip() {
        for v in [
            0.0,
            -0.0,
            1.5,
            f64::MIN_POSITIVE,
            f64::MAX,
            1e-300,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(
                decode_value(&encode_value(v)).unwrap().to_bits(),
                v.to_bits()
            );
        }
        assert!(decode_value(&encode_value(f64::NAN)).unwrap().is_nan());
        assert_eq!(encode_value(f64::NAN), json!("NaN"));
        assert_eq!(encode_value(f64::NEG_INFINITY), json!("-Infinity"));
    }
}
