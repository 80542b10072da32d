//! Generates `include/brokerclient.h` with cbindgen (pinned in Cargo.toml), and sets the
//! shared library's soname (see `soname` below).
//!
//! The header is committed. It is rewritten only when its text changes, so builds do not
//! dirty the tree; with `BC_CHECK_HEADER=1` a stale committed header fails the build instead,
//! which is how CI proves the header is current.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    soname();
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

/// The soname of the cdylib, from the one source of truth: the version in Cargo.toml
/// (C_ABI.md 3.5). During 0.x every minor release may break the ABI, so the soname is
/// `libbrokerclient.so.0.<minor>`; from 1.0 on it is `libbrokerclient.so.<major>`.
///
/// In-repo consumers (C tests, samples, the Go binding) link `target/<profile>/libbrokerclient.so`
/// and record the soname as their DT_NEEDED, so the loader then looks for
/// `target/<profile>/libbrokerclient.so.0.<minor>`: a symlink to the real file is made here.
/// It is made before the library is linked, and resolves once the library exists.
fn soname() {
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let elf = matches!(
        os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly"
    );
    if !elf {
        return;
    }
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let soname = if major == "0" {
        format!("libbrokerclient.so.0.{minor}")
    } else {
        format!("libbrokerclient.so.{major}")
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");

    // OUT_DIR = target/[<triple>/]<profile>/build/<pkg>-<hash>/out
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let Some(profile_dir) = out_dir.ancestors().nth(3) else {
        return;
    };
    let link = profile_dir.join(&soname);
    if let Err(e) = symlink(Path::new("libbrokerclient.so"), &link) {
        println!(
            "cargo:warning=cannot create {}: {e} (programs linked against target/ will not \
             find the library at run time)",
            link.display()
        );
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    if let Ok(current) = fs::read_link(link) {
        if current == target {
            return Ok(());
        }
    }
    match fs::symlink_metadata(link) {
        Ok(_) => fs::remove_file(link)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Ok(())
}
