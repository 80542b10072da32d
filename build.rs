//! Generates `include/brokerclient.h` with cbindgen (pinned in Cargo.toml).
//!
//! The header is committed. It is rewritten only when its text changes, so builds do not
//! dirty the tree; with `BC_CHECK_HEADER=1` a stale committed header fails the build instead,
//! which is how CI proves the header is current.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let header_path = crate_dir.join("include").join("brokerclient.h");

    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BC_CHECK_HEADER");
    println!(
        "cargo:include={}",
        crate_dir.join("include").to_string_lossy()
    );

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml must parse");
    if let Some(after) = config.after_includes.as_mut() {
        *after = after
            .replace("@MAJOR@", &env::var("CARGO_PKG_VERSION_MAJOR").unwrap())
            .replace("@MINOR@", &env::var("CARGO_PKG_VERSION_MINOR").unwrap())
            .replace("@PATCH@", &env::var("CARGO_PKG_VERSION_PATCH").unwrap())
            .replace("@VERSION@", &env::var("CARGO_PKG_VERSION").unwrap());
    }

    let bindings = match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(b) => b,
        Err(e) => panic!("cbindgen failed: {e}"),
    };
    let mut generated = Vec::new();
    bindings.write(&mut generated);

    let current = fs::read(&header_path).unwrap_or_default();
    if current == generated {
        return;
    }
    if env::var("BC_CHECK_HEADER").as_deref() == Ok("1") {
        panic!(
            "include/brokerclient.h is stale: build without BC_CHECK_HEADER=1 and commit the \
             regenerated header"
        );
    }
    fs::create_dir_all(header_path.parent().unwrap()).unwrap();
    fs::write(&header_path, generated).expect("cannot write include/brokerclient.h");
}
