//! The C ABI. Everything `extern "C"` lives below this module, and so does every `unsafe`.

pub mod version;
