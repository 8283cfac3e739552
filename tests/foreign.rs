//! The foreign-language harness: every C test and example is compiled with
//! `-std=c99 -Wall -Wextra -pedantic -Werror`, linked against the shared and
//! the static library, and run; the header compiles warning-free as C++17; the
//! generated Fortran module builds with gfortran and the Fortran test passes;
//! the Python ctypes test passes; the generated bindings are up to date.

mod support;

use std::process::Command;

use support::foreign::{
    build_dir, compile_c, library_dir, require_tool, root, run_ok, sources, Linkage,
};

/// Runs every C program of `dir` with both linkages.
fn run_c_programs(dir: &str, args: &[&str]) {
    let programs = sources(dir, "c");
    assert!(!programs.is_empty(), "no C sources in {dir}");
    for src in programs {
        for linkage in [Linkage::Shared, Linkage::Static] {
            let exe = compile_c(&src, linkage);
            let out = run_ok(
                Command::new(&exe)
                    .args(args)
                    .env("FK_NUM_THREADS", "3")
                    .current_dir(build_dir("run")),
                &format!("running {} ({linkage:?})", src.display()),
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(!stdout.contains("FAIL"), "{}:\n{stdout}", src.display());
        }
    }
}

#[test]
fn c_tests_pass_against_shared_and_static_library() {
    run_c_programs("tests/c", &[]);
}

#[test]
fn c_examples_build_strictly_and_run() {
    run_c_programs("examples/c", &["--quick"]);
}

#[test]
fn header_compiles_warning_free_as_cpp17_and_cpp_test_runs() {
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let lib = library_dir();
    for src in sources("tests/cpp", "cpp")
        .into_iter()
        .chain(sources("examples/cpp", "cpp"))
    {
        let exe = build_dir("cpp").join(src.file_stem().unwrap());
        run_ok(
            Command::new(&cxx)
                .args(["-std=c++17", "-Wall", "-Wextra", "-pedantic", "-Werror"])
                .arg("-I")
                .arg(root().join("include"))
                .arg(&src)
                .arg("-o")
                .arg(&exe)
                .arg(format!("-L{}", lib.display()))
                .arg("-lfieldkern")
                .arg(format!("-Wl,-rpath,{}", lib.display())),
            &format!("compiling {} as C++17", src.display()),
        );
        run_ok(
            &mut Command::new(&exe),
            &format!("running {}", src.display()),
        );
    }
}

#[test]
fn fortran_module_builds_and_fortran_test_passes() {
    let gfortran = require_tool("gfortran", "apt-get install gfortran");
    let lib = library_dir();
    let dir = build_dir("fortran");
    let module = root().join("include/fieldkern.f90");
    for test in sources("tests/fortran", "f90")
        .into_iter()
        .chain(sources("examples/fortran", "f90"))
    {
        let exe = dir.join(test.file_stem().unwrap());
        run_ok(
            Command::new(&gfortran)
                .args(["-std=f2008", "-Wall", "-Werror", "-O2"])
                .arg("-J")
                .arg(&dir)
                .arg(&module)
                .arg(&test)
                .arg("-o")
                .arg(&exe)
                .arg(format!("-L{}", lib.display()))
                .arg("-lfieldkern")
                .arg(format!("-Wl,-rpath,{}", lib.display())),
            &format!("compiling {}", test.display()),
        );
        let out = run_ok(
            Command::new(&exe).arg("--quick").current_dir(&dir),
            &format!("running {}", test.display()),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let passed = stdout.contains(" 0 failed") || stdout.contains("physics checks: ok");
        assert!(
            passed && !stdout.contains("FAIL"),
            "{}:\n{stdout}",
            test.display()
        );
    }
}

fn python() -> std::path::PathBuf {
    require_tool("python3", "apt-get install python3")
}

#[test]
fn python_ctypes_test_and_example_pass() {
    let py = python();
    let lib = library_dir().join("libfieldkern.so");
    for script in sources("tests/python", "py")
        .into_iter()
        .chain(sources("examples/python", "py"))
    {
        if script
            .file_name()
            .is_some_and(|n| n == "export_torch.py" || n == "make_fixtures.py")
        {
            continue; // need PyTorch; not part of the test suite
        }
        let out = run_ok(
            Command::new(&py)
                .arg(&script)
                .arg("--quick")
                .env("FIELDKERN_LIB", &lib),
            &format!("running {}", script.display()),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("FAIL"), "{}:\n{stdout}", script.display());
    }
}

#[test]
fn generated_fortran_python_julia_bindings_match_the_header() {
    run_ok(
        Command::new(python())
            .arg(root().join("tools/gen_bindings.py"))
            .arg("--check"),
        "tools/gen_bindings.py --check (regenerate with: python3 tools/gen_bindings.py)",
    );
}

/// The Julia example cannot run here (no Julia runtime on CI machines); keep it
/// mechanically in step with the Python one: same fieldkern calls.
#[test]
fn julia_example_calls_the_same_functions_as_the_python_example() {
    let calls = |path: &str| {
        let text = std::fs::read_to_string(root().join(path)).unwrap();
        let mut names: Vec<String> = text
            .match_indices("fk_")
            .map(|(i, _)| {
                text[i..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            })
            .filter(|n: &String| n.len() > 3 && n.chars().nth(3).is_some_and(|c| c.is_lowercase()))
            .filter(|n| n != "fk_c_string")
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let py = calls("examples/python/quickstart.py");
    let jl = calls("examples/julia/quickstart.jl");
    assert!(!py.is_empty());
    assert_eq!(
        py, jl,
        "examples/julia/quickstart.jl must call what examples/python/quickstart.py calls"
    );
}
