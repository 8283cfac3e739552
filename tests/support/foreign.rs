//! Building and running the foreign-language programs (C, C++, Fortran,
//! Python) against the built shared and static libraries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/<profile>` of this test executable (`target/debug/deps/x` -> `target/debug`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<exe>")
        .to_path_buf()
}

/// Linker flags a Rust staticlib needs on Linux (`--print native-static-libs`).
pub const STATIC_LINK_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// Builds `libfieldkern.so` and `libfieldkern.a` once per test process (cargo
/// test builds only the rlib) and returns the folder holding them.
pub fn library_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = profile_dir();
        // The dev profile is optimised (opt-level 3) and writes to target/debug,
        // like the test profile; in a release test run, build release too.
        let release = dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(root()).args(["build", "--lib", "--quiet"]);
        if release {
            cmd.arg("--release");
        }
        run_ok(&mut cmd, "cargo build --lib");
        let lib_dir = if release {
            dir
        } else {
            dir.with_file_name("debug")
        };
        for f in ["libfieldkern.so", "libfieldkern.a"] {
            assert!(
                lib_dir.join(f).exists(),
                "{} was not built",
                lib_dir.join(f).display()
            );
        }
        lib_dir
    })
}

/// A scratch folder for compiled test programs.
pub fn build_dir(name: &str) -> PathBuf {
    let d = profile_dir().join("foreign").join(name);
    std::fs::create_dir_all(&d).expect("create build dir");
    d
}

/// Path of a required tool, or a panic that says what to install.
pub fn require_tool(tool: &str, install: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{tool}` is not installed, so this test cannot run. Install it with \
             `{install}` (.ci/run does this)."
        )
    })
}

/// Runs a command, panicking with its full output unless it exits 0.
pub fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n--- command: {cmd:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Sorted files with extension `ext` in `dir` (relative to the root).
pub fn sources(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|x| x == ext));
    v.sort();
    v
}

/// How a C program is linked against fieldkern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linkage {
    Shared,
    Static,
}

/// Compiles one C99 source strictly (`-std=c99 -Wall -Wextra -pedantic
/// -Werror`) against `include/` and links it; returns the executable.
pub fn compile_c(src: &Path, linkage: Linkage) -> PathBuf {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let lib = library_dir();
    let stem = src.file_stem().unwrap().to_string_lossy();
    let exe = build_dir("c").join(format!("{stem}-{linkage:?}").to_lowercase());
    let mut cmd = Command::new(&cc);
    cmd.args([
        "-std=c99",
        "-O2",
        "-Wall",
        "-Wextra",
        "-pedantic",
        "-Werror",
    ])
    .arg("-I")
    .arg(root().join("include"))
    .arg("-I")
    .arg(root().join("tests/c"))
    .arg(src)
    .arg("-o")
    .arg(&exe);
    match linkage {
        Linkage::Shared => {
            cmd.arg(format!("-L{}", lib.display()))
                .arg("-lfieldkern")
                .arg(format!("-Wl,-rpath,{}", lib.display()))
                .arg("-lm");
        }
        Linkage::Static => {
            cmd.arg(lib.join("libfieldkern.a")).args(STATIC_LINK_LIBS);
        }
    }
    run_ok(
        &mut cmd,
        &format!("compiling {} ({linkage:?})", src.display()),
    );
    exe
}
