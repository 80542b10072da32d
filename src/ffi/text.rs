//! Text handed to C: NUL-terminated copies of Rust strings.

use std::ffi::CString;

/// A C string of `s`. Rust strings may hold NUL, which C text cannot: each is written as the
/// two characters `\0`, so the reader sees something was there and nothing after it is lost.
pub(crate) fn c_text(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

/// `v` as JSON text (serde escapes NUL, so the result has none).
pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> CString {
    CString::new(serde_json::to_vec(v).unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_visible_not_lost() {
        assert_eq!(c_text("a\0b").to_str().unwrap(), "a\\0b");
        assert_eq!(json_text(&"a\0b").to_str().unwrap(), "\"a\\u0000b\"");
    }
}
