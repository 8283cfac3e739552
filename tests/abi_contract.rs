//! The ABI contract of ../shared/ABI.md, checked mechanically: the committed
//! header is what the build generates, every export goes through the boundary
//! guard, version macros agree with Cargo.toml, statuses are distinct and
//! named, and every header function is documented.

mod support;

use std::collections::BTreeSet;
use std::ffi::CStr;

use fieldkern::ffi::fk_status;
use fieldkern::ffi::runtime::{fk_status_str, fk_version, fk_version_string};
use support::foreign::root;

const GENERATED_HEADER: &str = include_str!(concat!(env!("OUT_DIR"), "/fieldkern.h"));

fn committed_header() -> String {
    std::fs::read_to_string(root().join("include/fieldkern.h")).expect("include/fieldkern.h")
}

#[test]
fn committed_header_matches_what_cbindgen_generates() {
    assert!(
        committed_header() == GENERATED_HEADER,
        "include/fieldkern.h differs from the header generated from src/ffi/ (an ABI change \
         nobody reviewed). Review the change, then regenerate with `FK_BLESS=1 cargo build` \
         and `python3 tools/gen_bindings.py`, and commit."
    );
}

/// `(name, body)` of every `extern "C" fn` in src/ffi/.
fn exports() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root().join("src/ffi")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices("extern \"C\" fn ") {
            let rest = &text[i + "extern \"C\" fn ".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // The body starts at the first '{' after the signature.
            let sig_end = rest.find('{').expect("function body");
            let body: String = rest[sig_end + 1..].split_whitespace().collect();
            found.push((name, body));
        }
    }
    found.sort();
    found
}

#[test]
fn every_export_goes_through_the_boundary_guard() {
    let exports = exports();
    assert!(exports.len() >= 10, "found only {} exports", exports.len());
    for (name, body) in &exports {
        let guarded = [
            format!("guard(\"{name}\","),
            format!("guard_value(\"{name}\","),
        ]
        .iter()
        .any(|g| body.starts_with(g.as_str()));
        assert!(
            guarded,
            "export {name} must start with guard(\"{name}\", ...) or guard_value(\"{name}\", ...); \
             its body starts: {}",
            &body[..body.len().min(80)]
        );
    }
}

fn header_functions(header: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in header.lines() {
        let line = line.trim_start();
        if line.starts_with('*') || line.starts_with("/*") || line.starts_with('#') {
            continue;
        }
        if let Some(open) = line.find('(') {
            let before = &line[..open];
            if let Some(name) = before
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .next_back()
            {
                if name.starts_with("fk_") {
                    names.insert(name.to_string());
                }
            }
        }
    }
    names
}

#[test]
fn header_declares_exactly_the_rust_exports_each_with_a_doc_comment() {
    let header = committed_header();
    let declared = header_functions(&header);
    let exported: BTreeSet<String> = exports().into_iter().map(|(n, _)| n).collect();
    assert_eq!(declared, exported);
    let lines: Vec<&str> = header.lines().collect();
    for name in &declared {
        let decl = lines
            .iter()
            .position(|l| {
                let t = l.trim_start();
                !(t.starts_with('*') || t.starts_with("/*") || t.starts_with('#'))
                    && header_functions(l).contains(name)
            })
            .unwrap_or_else(|| panic!("no declaration line for {name}"));
        assert!(
            decl > 0 && lines[decl - 1].trim_end().ends_with("*/"),
            "{name} has no doc comment in the header"
        );
    }
}

#[test]
fn every_symbol_and_constant_is_prefixed() {
    for name in header_functions(&committed_header()) {
        assert!(name.starts_with("fk_"), "{name}");
    }
    for line in committed_header()
        .lines()
        .filter(|l| l.starts_with("#define "))
    {
        let name = line.split_whitespace().nth(1).unwrap();
        assert!(name.starts_with("FK_") || name == "FIELDKERN_H", "{name}");
    }
}

#[test]
fn version_macros_agree_with_cargo_and_fk_version() {
    let header = committed_header();
    let get = |macro_name: &str| -> String {
        let line = header
            .lines()
            .find(|l| l.starts_with(&format!("#define {macro_name} ")))
            .unwrap_or_else(|| panic!("{macro_name} missing"));
        line.split_whitespace()
            .nth(2)
            .unwrap()
            .trim_matches('"')
            .to_string()
    };
    assert_eq!(get("FK_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MAJOR"));
    assert_eq!(get("FK_VERSION_MINOR"), env!("CARGO_PKG_VERSION_MINOR"));
    assert_eq!(get("FK_VERSION_PATCH"), env!("CARGO_PKG_VERSION_PATCH"));
    assert_eq!(get("FK_VERSION_STRING"), env!("CARGO_PKG_VERSION"));
    assert_eq!(
        get("FK_VERSION_NUMBER").parse::<u32>().unwrap(),
        fk_version()
    );
    // SAFETY: fk_version_string returns a static NUL-terminated string.
    let s = unsafe { CStr::from_ptr(fk_version_string()) };
    assert_eq!(s.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn status_values_are_distinct_named_and_ok_is_zero() {
    assert_eq!(fk_status::FK_OK as i32, 0);
    let values: BTreeSet<i32> = fk_status::ALL.iter().map(|&s| s as i32).collect();
    assert_eq!(values.len(), fk_status::ALL.len());
    for s in fk_status::ALL {
        // SAFETY: fk_status_str returns a static NUL-terminated string.
        let name = unsafe { CStr::from_ptr(fk_status_str(s as i32)) }
            .to_str()
            .unwrap();
        assert_eq!(name, format!("{s:?}"));
        assert!(committed_header().contains(&format!("{name} = {}", s as i32)));
    }
    // SAFETY: as above.
    let unknown = unsafe { CStr::from_ptr(fk_status_str(-7)) };
    assert_eq!(unknown.to_str().unwrap(), "FK_UNKNOWN_STATUS");
}

#[test]
fn header_uses_a_fixed_width_status_type() {
    assert!(committed_header().contains("typedef int32_t fk_status;"));
}
