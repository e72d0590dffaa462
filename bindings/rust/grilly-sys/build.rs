//! Finds libgrilly, in this order:
//!  1. GRILLY_BUILD_DIR=<a CMake build folder of grilly> (holding libgrilly.so): link that build;
//!  2. the `bundled` feature: build the repository's CMake project into OUT_DIR and link it;
//!  3. pkg-config (`grilly.pc` of an installed grilly, or PKG_CONFIG_PATH pointing at one).
//!
//! Otherwise the build stops with a message saying what to do.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn link_dir(dir: &Path) {
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=dylib=grilly");
    // Lets dependents (through DEP_GRILLY_LIB_DIR) and `cargo test` runs find the library.
    println!("cargo:lib_dir={}", dir.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
}

fn has_lib(dir: &Path) -> bool {
    dir.join("libgrilly.so").exists() || dir.join("libgrilly.dylib").exists() || dir.join("grilly.lib").exists()
}

fn main() {
    println!("cargo:rerun-if-env-changed=GRILLY_BUILD_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-changed=build.rs");

    if let Ok(dir) = env::var("GRILLY_BUILD_DIR") {
        let dir = PathBuf::from(dir);
        if !has_lib(&dir) {
            panic!(
                "GRILLY_BUILD_DIR={} holds no libgrilly. Build grilly there first:\n  \
                 cmake -S <grilly repository> -B {0} -G Ninja && cmake --build {0}\n\
                 or unset GRILLY_BUILD_DIR to use pkg-config.",
                dir.display()
            );
        }
        link_dir(&dir);
        return;
    }

    if env::var_os("CARGO_FEATURE_BUNDLED").is_some() {
        let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../..");
        let root = root.canonicalize().expect("grilly-sys (bundled): repository root not found");
        let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("cmake-build");
        let run = |args: &[&str]| {
            let ok = Command::new("cmake").args(args).status().map(|s| s.success()).unwrap_or(false);
            if !ok {
                panic!(
                    "grilly-sys (bundled): `cmake {}` failed. Install cmake, ninja, a C++ compiler, the \
                     Vulkan headers and glslc (scripts/install-deps.sh), or build grilly yourself and set \
                     GRILLY_BUILD_DIR to the build folder.",
                    args.join(" ")
                );
            }
        };
        let src = root.to_str().unwrap();
        let bin = out.to_str().unwrap();
        run(&["-S", src, "-B", bin, "-DCMAKE_BUILD_TYPE=Release", "-DGRILLY_BUILD_TESTS=OFF",
              "-DGRILLY_BUILD_BENCH=OFF", "-DGRILLY_BUILD_EXAMPLES=OFF"]);
        let jobs = env::var("NUM_JOBS").unwrap_or_else(|_| "1".into());
        run(&["--build", bin, "--target", "grilly", "--parallel", &jobs]);
        println!("cargo:rerun-if-changed={}", root.join("src").display());
        println!("cargo:rerun-if-changed={}", root.join("include").display());
        link_dir(&out);
        return;
    }

    match pkg_config::Config::new().atleast_version("0.1").probe("grilly") {
        Ok(lib) => {
            for dir in &lib.link_paths {
                println!("cargo:lib_dir={}", dir.display());
                println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
            }
        }
        Err(e) => panic!(
            "\ngrilly-sys could not find libgrilly.\n\
             pkg-config said: {e}\n\
             Do one of:\n  \
             - install grilly (cmake --install <build>) so that `pkg-config --libs grilly` works, or point \
             PKG_CONFIG_PATH at the folder holding the installed grilly.pc (<prefix>/lib/pkgconfig);\n  \
             - set GRILLY_BUILD_DIR to a CMake build folder of grilly holding libgrilly.so, e.g.\n      \
             cmake -S . -B build -G Ninja && cmake --build build && export GRILLY_BUILD_DIR=$PWD/build\n  \
             - or enable the `bundled` feature of grilly-sys (or of grilly) to build the repository's \
             CMake project automatically.\n"
        ),
    }
}
