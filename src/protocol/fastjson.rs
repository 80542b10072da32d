//! Reading the JSON that fastjson (the Java side's serializer) writes, which is not always
//! standard JSON (REMOTING.md §5.5): map keys may be bare integers (`{0:"addr"}`) or whole
//! objects (`{{"brokerName":"b","queueId":0,"topic":"t"}:12}`). Such keys are turned into
//! JSON strings holding their text, after which `serde_json` reads the body.

use serde::de::DeserializeOwned;

use super::error::{ProtocolError, Result};

/// Parses a fastjson body into `T`. Standard JSON takes the direct path; only a body that
/// fails to parse is normalised and parsed again.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8], what: &'static str) -> Result<T> {
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(first) => {
            let normalised = normalize(bytes).map_err(|reason| ProtocolError::InvalidJson {
                what,
                reason: format!("{first}; {reason}"),
            })?;
            serde_json::from_slice(&normalised).map_err(|e| ProtocolError::InvalidJson {
                what,
                reason: e.to_string(),
            })
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Container {
    Object,
    Array,
}

/// Rewrites non-string object keys as strings. Errors only on unbalanced input; anything else
/// odd is left for `serde_json` to report.
pub fn normalize(input: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(input.len() + 16);
    let mut stack: Vec<Container> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        match b {
            b'"' => {
                let end = skip_string(input, i)?;
                out.extend_from_slice(&input[i..end]);
                i = end;
                expect_key = false;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => out.push(b),
            b'{' | b'[' if expect_key => {
                // An object used as a map key: keep its text as the key string.
                let end = skip_balanced(input, i)?;
                push_as_string(&mut out, &input[i..end]);
                i = end;
                expect_key = false;
                continue;
            }
            b'{' => {
                stack.push(Container::Object);
                expect_key = true;
                out.push(b);
            }
            b'[' => {
                stack.push(Container::Array);
                out.push(b);
            }
            b'}' | b']' => {
                stack.pop().ok_or("unbalanced closing bracket")?;
                expect_key = false;
                out.push(b);
            }
            b',' => {
                expect_key = stack.last() == Some(&Container::Object);
                out.push(b);
            }
            _ if expect_key => {
                // A bare key: everything up to the colon.
                let end = input[i..]
                    .iter()
                    .position(|&c| c == b':' || c.is_ascii_whitespace())
                    .map_or(input.len(), |p| i + p);
                push_as_string(&mut out, &input[i..end]);
                i = end;
                expect_key = false;
                continue;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    if !stack.is_empty() {
        return Err("unbalanced opening bracket".into());
    }
    Ok(out)
}

/// Index just past the string literal starting at `start` (a `"`).
fn skip_string(input: &[u8], start: usize) -> std::result::Result<usize, String> {
    let mut i = start + 1;
    while i < input.len() {
        match input[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err("unterminated string".into())
}

/// Index just past the object or array starting at `start`.
fn skip_balanced(input: &[u8], start: usize) -> std::result::Result<usize, String> {
    let mut depth = 0usize;
    let mut i = start;
    while i < input.len() {
        match input[i] {
            b'"' => {
                i = skip_string(input, i)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err("unterminated object key".into())
}

fn push_as_string(out: &mut Vec<u8>, raw: &[u8]) {
    out.push(b'"');
    for &c in raw {
        if c == b'"' || c == b'\\' {
            out.push(b'\\');
        }
        out.push(c);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn bare_integer_keys_become_strings() {
        let n =
            normalize(br#"{"brokerAddrs":{0:"127.0.0.1:10911", 1 :"x"},"a":[{2:"y"}]}"#).unwrap();
        assert_eq!(
            std::str::from_utf8(&n).unwrap(),
            r#"{"brokerAddrs":{"0":"127.0.0.1:10911", "1" :"x"},"a":[{"2":"y"}]}"#
        );
        let v: BTreeMap<String, BTreeMap<i64, String>> =
            from_slice(br#"{"m":{0:"a",-1:"b"}}"#, "test").unwrap();
        assert_eq!(v["m"][&0], "a");
        assert_eq!(v["m"][&-1], "b");
    }

    #[test]
    fn object_keys_become_their_text() {
        let v: BTreeMap<String, BTreeMap<String, i64>> = from_slice(
            br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:12}}"#,
            "test",
        )
        .unwrap();
        let (k, off) = v["offsetTable"].iter().next().unwrap();
        assert_eq!(*off, 12);
        let mq: serde_json::Value = serde_json::from_str(k).unwrap();
        assert_eq!(mq["queueId"], 0);
    }

    #[test]
    fn strings_with_brackets_and_escapes_are_untouched() {
        let src = br#"{"a":"{0:\"x\"}","b":["]",{"c":"\\"}]}"#;
        assert_eq!(normalize(src).unwrap(), src.to_vec());
    }

    #[test]
    fn unbalanced_input_is_an_error() {
        assert!(normalize(b"{\"a\":[1,2}").is_err());
        assert!(normalize(b"{\"a\":1").is_err());
        assert!(normalize(b"}").is_err());
        assert!(normalize(b"{\"a").is_err());
        assert!(from_slice::<serde_json::Value>(b"{0:", "t").is_err());
    }
}
