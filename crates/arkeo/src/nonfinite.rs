//! NaN, Infinity and -Infinity in replies: a pre-pass that makes them strict JSON.
//!
//! The instrument software writes non-finite floats the way Python's `json.dumps` does, as
//! the bare tokens `NaN`, `Infinity` and `-Infinity`. Strict JSON (and serde_json) rejects
//! them, and one such value would fail a whole reply full of good measurement data.
//!
//! [`to_strict_json`] rewrites each bare token *outside strings* into the JSON string of the
//! same spelling (`NaN` becomes `"NaN"`), so the number stays recognisable: [`as_f64`] turns
//! such a string back into the `f64` it stood for, and printing a reply shows what the
//! instrument said rather than a `null` that could mean anything. Text inside strings is
//! never touched. Replies without the letters `N` or `I` outside strings (the common case)
//! are passed through without a copy.
//!
//! [`to_lenient_json`] is the inverse, used by the simulator to speak like the instrument.

use std::borrow::Cow;

use serde_json::Value;

/// The three bare tokens and the JSON strings they become.
const TOKENS: [(&[u8], &str); 3] = [
    (b"-Infinity", "-Infinity"),
    (b"Infinity", "Infinity"),
    (b"NaN", "NaN"),
];

/// Rewrites bare `NaN`, `Infinity` and `-Infinity` outside strings into JSON strings.
///
/// Any other byte is copied as it is, so invalid JSON stays invalid (serde_json reports
/// it). Returns the input itself when there was nothing to rewrite.
pub fn to_strict_json(input: &[u8]) -> Cow<'_, [u8]> {
    // Fast path: a rewrite needs an `N` or an `I` somewhere.
    if !input.iter().any(|&b| b == b'N' || b == b'I') {
        return Cow::Borrowed(input);
    }
    let mut out: Option<Vec<u8>> = None;
    let mut in_string = false;
    let mut escaped = false;
    let mut copied = 0; // input[..copied] is already in `out` (when `out` exists)
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if (b == b'-' || b == b'I' || b == b'N')
            && let Some((token, text)) = TOKENS.iter().find(|(t, _)| input[i..].starts_with(t))
        {
            let buf = out.get_or_insert_with(|| Vec::with_capacity(input.len() + 16));
            buf.extend_from_slice(&input[copied..i]);
            buf.push(b'"');
            buf.extend_from_slice(text.as_bytes());
            buf.push(b'"');
            i += token.len();
            copied = i;
            continue;
        }
        i += 1;
    }
    match out {
        None => Cow::Borrowed(input),
        Some(mut buf) => {
            buf.extend_from_slice(&input[copied..]);
            Cow::Owned(buf)
        }
    }
}

/// A number from a reply, including the non-finite ones the pre-pass kept as strings.
///
/// `Some(f64::NAN)` for `"NaN"`, `Some(f64::INFINITY)` for `"Infinity"`,
/// `Some(f64::NEG_INFINITY)` for `"-Infinity"`, the number for a JSON number, else `None`.
pub fn as_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// A JSON value for an `f64`, spelling non-finite values as the strings [`as_f64`] reads.
pub fn from_f64(x: f64) -> Value {
    if x.is_nan() {
        Value::from("NaN")
    } else if x == f64::INFINITY {
        Value::from("Infinity")
    } else if x == f64::NEG_INFINITY {
        Value::from("-Infinity")
    } else {
        Value::from(x)
    }
}

/// Serializes `value` the way the instrument does: the strings `"NaN"`, `"Infinity"` and
/// `"-Infinity"` in value position become bare tokens. Object keys are never rewritten.
pub fn to_lenient_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    write_lenient(value, &mut out);
    out
}

fn write_lenient(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::String(s) if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") => {
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(items) => {
            out.push(b'[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_lenient(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (n, (key, item)) in map.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                // Writing a string or a scalar into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, key);
                out.push(b':');
                write_lenient(item, out);
            }
            out.push(b'}');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(input: &str) -> String {
        String::from_utf8(to_strict_json(input.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn bare_tokens_outside_strings_become_strings() {
        let cases = [
            ("[NaN]", r#"["NaN"]"#),
            ("[Infinity,-Infinity]", r#"["Infinity","-Infinity"]"#),
            (r#"{"a":NaN,"b":1}"#, r#"{"a":"NaN","b":1}"#),
            ("[ -Infinity ]", r#"[ "-Infinity" ]"#),
            ("NaN", r#""NaN""#),
            ("{\"v\":[1.5,NaN,2e3]}", "{\"v\":[1.5,\"NaN\",2e3]}"),
        ];
        for (input, want) in cases {
            assert_eq!(strict(input), want, "{input}");
            serde_json::from_str::<Value>(&strict(input)).expect("strict JSON after the pass");
        }
    }

    #[test]
    fn text_inside_strings_is_untouched() {
        let cases = [
            r#"{"m":"NaN and Infinity"}"#,
            r#"{"m":"escaped \" NaN"}"#,
            r#"{"m":"back\\","n":1}"#,
            r#"{"NaN":1,"Infinity":"-Infinity"}"#,
            r#"{"status":"OK","name":"Iñigo"}"#,
        ];
        for input in cases {
            assert_eq!(strict(input), input);
        }
    }

    #[test]
    fn token_after_escaped_backslash_is_rewritten() {
        assert_eq!(strict(r#"["a\\",NaN]"#), r#"["a\\","NaN"]"#);
    }

    #[test]
    fn input_without_tokens_is_borrowed() {
        let input = br#"{"status":"ok","data":{"x":[1,2,3]}}"#;
        assert!(matches!(to_strict_json(input), Cow::Borrowed(_)));
        let with_string_only = br#"{"m":"NaN"}"#;
        assert!(matches!(to_strict_json(with_string_only), Cow::Borrowed(_)));
    }

    #[test]
    fn invalid_json_stays_invalid() {
        for input in ["NaNa", "[Nope]", "{\"a\":Inf}", "-Infinityx"] {
            let out = strict(input);
            assert!(
                serde_json::from_str::<Value>(&out).is_err(),
                "{input} -> {out}"
            );
        }
    }

    #[test]
    fn as_f64_reads_numbers_and_kept_tokens() {
        assert!(as_f64(&Value::from("NaN")).unwrap().is_nan());
        assert_eq!(as_f64(&Value::from("Infinity")), Some(f64::INFINITY));
        assert_eq!(as_f64(&Value::from("-Infinity")), Some(f64::NEG_INFINITY));
        assert_eq!(as_f64(&Value::from(2.5)), Some(2.5));
        assert_eq!(as_f64(&Value::from("2.5")), None);
        assert_eq!(as_f64(&Value::Null), None);
    }

    #[test]
    fn lenient_writer_is_the_inverse_of_the_pass() {
        let value = serde_json::json!({
            "Voc": 1.05, "Rsh": "Infinity", "fit": ["NaN", "-Infinity", 0],
            "note": "not NaN", "NaN": true
        });
        let lenient = to_lenient_json(&value);
        let text = String::from_utf8(lenient.clone()).unwrap();
        assert!(text.contains("\"Rsh\":Infinity"), "{text}");
        assert!(text.contains("[NaN,-Infinity,0]"), "{text}");
        assert!(text.contains("\"NaN\":true"), "keys stay strings: {text}");
        let back: Value = serde_json::from_slice(&to_strict_json(&lenient)).unwrap();
        assert_eq!(back, value);
    }

    proptest::proptest! {
        #[test]
        fn pass_round_trips_any_float_array(xs in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::num::f64::ANY,
                proptest::strategy::Just(f64::NAN),
                proptest::strategy::Just(f64::INFINITY),
                proptest::strategy::Just(f64::NEG_INFINITY),
            ], 0..20)) {
            let value = Value::Array(xs.iter().map(|&x| from_f64(x)).collect());
            let strict = to_strict_json(&to_lenient_json(&value)).into_owned();
            let back: Value = serde_json::from_slice(&strict).unwrap();
            let got: Vec<f64> = back.as_array().unwrap().iter().map(|v| as_f64(v).unwrap()).collect();
            proptest::prop_assert_eq!(got.len(), xs.len());
            for (g, x) in got.iter().zip(&xs) {
                // serde_json is built with float_roundtrip: every float comes back exactly,
                // measurement data included.
                proptest::prop_assert!((g.is_nan() && x.is_nan()) || g == x, "{} vs {}", g, x);
            }
        }
    }
}
