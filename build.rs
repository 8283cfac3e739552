//! Generates `include/fieldkern.h` from `src/ffi/` with cbindgen.
//!
//! The header is always generated into `$OUT_DIR/fieldkern.h`. It is written to
//! `include/fieldkern.h` only when `FK_BLESS=1` is set (or the file is missing),
//! so an unreviewed ABI change shows up as a failing drift test
//! (`tests/header.rs`) instead of silently rewriting the committed header.

use std::path::{Path, PathBuf};

fn version_macros() -> String {
    let get = |k: &str| std::env::var(k).expect("cargo sets CARGO_PKG_VERSION_*");
    let (major, minor, patch) = (
        get("CARGO_PKG_VERSION_MAJOR"),
        get("CARGO_PKG_VERSION_MINOR"),
        get("CARGO_PKG_VERSION_PATCH"),
    );
    let number = major.parse::<u32>().unwrap() * 10000
        + minor.parse::<u32>().unwrap() * 100
        + patch.parse::<u32>().unwrap();
    format!(
        "\n/** Version of this header (compare with fk_version() at run time). */\n\
         #define FK_VERSION_MAJOR {major}\n\
         #define FK_VERSION_MINOR {minor}\n\
         #define FK_VERSION_PATCH {patch}\n\
         /** FK_VERSION_MAJOR * 10000 + FK_VERSION_MINOR * 100 + FK_VERSION_PATCH */\n\
         #define FK_VERSION_NUMBER {number}\n\
         #define FK_VERSION_STRING \"{major}.{minor}.{patch}\"\n"
    )
}

fn ffi_sources(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src/ffi exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    files
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FK_BLESS");

    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut builder = cbindgen::Builder::new()
        .with_config(config)
        .with_after_include(version_macros());
    // cbindgen follows the `mod` declarations of src/ffi/mod.rs, in order:
    // that order is the order of the header's sections.
    for file in ffi_sources(&root.join("src/ffi")) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    builder = builder.with_src(root.join("src/ffi/mod.rs"));
    let bindings = builder
        .generate()
        .expect("cbindgen could not generate the header");
    let generated = out_dir.join("fieldkern.h");
    bindings.write_to_file(&generated);

    let committed = root.join("include/fieldkern.h");
    let bless = std::env::var("FK_BLESS").is_ok_and(|v| v == "1");
    if bless || !committed.exists() {
        std::fs::create_dir_all(root.join("include")).unwrap();
        std::fs::copy(&generated, &committed).expect("write include/fieldkern.h");
    }
}
