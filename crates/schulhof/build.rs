//! Lays out the server's code so that an idle server maps little of its binary: the functions
//! that run at start, on a login and in a first session (`hot-functions.txt`, written by
//! `crates/schulhof-bench/scripts/hot-functions.sh`) are linked first, next to each other.
//! Without it, start-up touches code all over the binary and the kernel maps the pages around
//! each touched page, so nearly all of the code stays resident (docs/performance.md, "Code
//! layout").

use std::env;
use std::path::Path;

/// The linker's symbol ordering file, beside this script.
const ORDER_FILE: &str = "hot-functions.txt";

fn main() {
    println!("cargo:rerun-if-changed={ORDER_FILE}");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let target = env::var("TARGET").unwrap_or_default();
    let optimised = env::var("OPT_LEVEL").is_ok_and(|level| level != "0");
    // rustc links x86_64 Linux binaries with its own LLD, which reads an ordering file; names
    // in it that the binary does not have are skipped without a warning. A linker chosen by
    // the builder (which may not know the option) is left alone.
    let own_linker = env::var_os("RUSTC_LINKER").is_some()
        || env::var("CARGO_ENCODED_RUSTFLAGS").is_ok_and(|flags| flags.contains("link"));
    if target == "x86_64-unknown-linux-gnu" && optimised && !own_linker {
        let dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        let order = Path::new(&dir).join(ORDER_FILE);
        println!(
            "cargo:rustc-link-arg-bin=schulhof=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=schulhof=-Wl,--no-warn-symbol-ordering");
    }
}
