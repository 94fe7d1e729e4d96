//! Every function's build script (`build = "../link.rs"`): links the binary as a
//! position-dependent executable. A position-independent one carries a dynamic
//! relocation for every pointer in its read-only data (vtables, string tables), which
//! the loader applies at every cold start: 0.38 MB of the 6.7 MB `videos` binary
//! (measured, README). The trade: the executable's own code is not placed at a random
//! address (its libraries, stack and heap still are); Lambda runs each function in its
//! own microVM. Only the function binaries; the server keeps its default (PIE).

fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
