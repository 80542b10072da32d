//! Run-time version queries, matching the `BC_VERSION_*` macros of the header.

use std::ffi::c_char;

const VERSION_NUL: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// Parses a decimal version component at compile time.
const fn parse_component(s: &str) -> u32 {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut n = 0u32;
    while i < bytes.len() {
        n = n * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// The version as `0xMMmmpp`, as `BC_VERSION_NUM` in the header.
pub const VERSION_NUM: u32 = (parse_component(env!("CARGO_PKG_VERSION_MAJOR")) << 16)
    | (parse_component(env!("CARGO_PKG_VERSION_MINOR")) << 8)
    | parse_component(env!("CARGO_PKG_VERSION_PATCH"));

/// Returns the library version as `0xMMmmpp` (compare with `BC_VERSION_NUM` to detect a header
/// and library mismatch).
///
/// Thread-safety: may be called from any thread at any time.
#[no_mangle]
pub extern "C" fn bc_version() -> u32 {
    VERSION_NUM
}

/// Returns the library version as a NUL-terminated string, e.g. `"0.1.0"`.
///
/// Ownership: the string is static; never free it.
/// Thread-safety: may be called from any thread at any time.
#[no_mangle]
pub extern "C" fn bc_version_str() -> *const c_char {
    VERSION_NUL.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_num_matches_cargo() {
        let s = env!("CARGO_PKG_VERSION");
        let parts: Vec<u32> = s.split('.').map(|p| p.parse().unwrap()).collect();
        assert_eq!(bc_version(), (parts[0] << 16) | (parts[1] << 8) | parts[2]);
        let c = unsafe { std::ffi::CStr::from_ptr(bc_version_str()) };
        assert_eq!(c.to_str().unwrap(), s);
    }
}
