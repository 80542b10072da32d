//! ACL request signing (REMOTING.md §9): the AccessKey/SecretKey scheme of the Java client's
//! `AclClientRPCHook`, verified by 4.x brokers (ACL 1.0, `PlainAccessResource`) and 5.x brokers
//! (ACL 2.0, `DefaultAuthenticationContextBuilder`) alike.
//!
//! The signed content is the values of every `extFields` entry but `Signature`, in key order,
//! concatenated without separators, then the raw body; the signature is
//! Base64(HmacSHA1(secretKey, content)).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::codes::SerializeType;
use super::command::ExtFields;

/// `extFields` key of the access key (`SessionCredentials.ACCESS_KEY`).
pub const ACCESS_KEY: &str = "AccessKey";
/// `extFields` key of the signature (`SessionCredentials.SIGNATURE`).
pub const SIGNATURE: &str = "Signature";
/// `extFields` key of the optional session token (`SessionCredentials.SECURITY_TOKEN`).
pub const SECURITY_TOKEN: &str = "SecurityToken";

/// An access key and its secret. `Debug` never shows the secret or the token, so a config
/// can be logged whole.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    /// Sent as `SecurityToken` when set (temporary credentials); it is signed, not a secret
    /// of the signature, but is kept out of `Debug` all the same.
    pub security_token: Option<String>,
}

impl Credentials {
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: None,
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Adds `AccessKey` (and `SecurityToken`) to `ext` and then the `Signature` over `ext` and
/// `body`, as the header will be sent with `serialize_type`.
///
/// With the binary header an empty value arrives as null and the broker signs the text
/// "null" for it; an absent field is the same null to the broker, so empty values are
/// dropped before signing rather than signed as something the broker would not see.
pub fn sign(
    ext: &mut ExtFields,
    credentials: &Credentials,
    body: &[u8],
    serialize_type: SerializeType,
) {
    ext.remove(SIGNATURE);
    ext.insert(ACCESS_KEY, credentials.access_key.as_str());
    if let Some(token) = &credentials.security_token {
        ext.insert(SECURITY_TOKEN, token.as_str());
    }
    if serialize_type == SerializeType::RocketMq {
        let empty: Vec<String> = ext
            .iter()
            .filter(|(_, v)| v.is_empty())
            .map(|(k, _)| k.to_owned())
            .collect();
        for k in empty {
            ext.remove(&k);
        }
    }
    let signature = signature(ext, body, &credentials.secret_key);
    ext.insert(SIGNATURE, signature);
}

/// Base64(HmacSHA1(secret, values of `ext` in key order ‖ body)), `Signature` excluded.
///
/// Keys sort by `str` order (UTF-8 bytes); Java sorts by UTF-16 units. The two differ only
/// for characters above U+FFFF against U+E000..U+FFFF, and header keys are ASCII field names.
pub fn signature(ext: &ExtFields, body: &[u8], secret: &str) -> String {
    let mut fields: Vec<(&str, &str)> = ext.iter().filter(|(k, _)| *k != SIGNATURE).collect();
    fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    for (_, v) in fields {
        mac.update(v.as_bytes());
    }
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(pairs: &[(&str, &str)]) -> ExtFields {
        pairs.iter().copied().collect()
    }

    #[test]
    fn signature_matches_hmac_sha1_known_vector() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?" =
        // effcdf6ae5eb2fa2d27416d5f184df9c259a7c79 (hex), the values split over two keys
        // that sort in this order, no body.
        let e = ext(&[("b", " for nothing?"), ("a", "what do ya want")]);
        assert_eq!(signature(&e, b"", "Jefe"), "7/zfauXrL6LSdBbV8YTfnCWafHk=");
        // The body is appended after the values; Signature itself is never signed.
        let e = ext(&[("a", "what do ya want"), ("Signature", "ignored")]);
        assert_eq!(
            signature(&e, b" for nothing?", "Jefe"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
    }

    #[test]
    fn keys_sort_like_java_treemap() {
        // Upper case sorts before lower case ("AccessKey" < "topic" < "x"); the signature
        // must not depend on insertion order.
        let a = ext(&[("topic", "T"), ("x", "1"), ("AccessKey", "ak")]);
        let b = ext(&[("AccessKey", "ak"), ("x", "1"), ("topic", "T")]);
        assert_eq!(signature(&a, b"body", "sk"), signature(&b, b"body", "sk"));
        let concatenated = ext(&[("k", "akT1")]);
        assert_eq!(
            signature(&a, b"body", "sk"),
            signature(&concatenated, b"body", "sk")
        );
    }

    #[test]
    fn sign_adds_access_key_token_and_signature() {
        let creds = Credentials {
            access_key: "ak".into(),
            secret_key: "sk".into(),
            security_token: Some("tok".into()),
        };
        let mut e = ext(&[("topic", "T"), ("empty", "")]);
        sign(&mut e, &creds, b"payload", SerializeType::Json);
        assert_eq!(e.get(ACCESS_KEY), Some("ak"));
        assert_eq!(e.get(SECURITY_TOKEN), Some("tok"));
        assert_eq!(e.get("empty"), Some(""), "JSON keeps empty strings");
        let sig = e.get(SIGNATURE).unwrap().to_owned();
        assert_eq!(sig, signature(&e, b"payload", "sk"));
        // Signing again (a retried frame) replaces the signature rather than signing it.
        sign(&mut e, &creds, b"payload", SerializeType::Json);
        assert_eq!(e.get(SIGNATURE), Some(sig.as_str()));

        let mut b = ext(&[("topic", "T"), ("empty", "")]);
        sign(&mut b, &creds, b"payload", SerializeType::RocketMq);
        assert_eq!(
            b.get("empty"),
            None,
            "binary: empty arrives as null, so dropped"
        );
    }

    #[test]
    fn debug_hides_the_secret_and_token() {
        let creds = Credentials {
            access_key: "visible-ak".into(),
            secret_key: "s3cr3t-value".into(),
            security_token: Some("t0ken-value".into()),
        };
        let shown = format!("{creds:?}");
        assert!(shown.contains("visible-ak"));
        assert!(!shown.contains("s3cr3t-value"));
        assert!(!shown.contains("t0ken-value"));
    }
}
