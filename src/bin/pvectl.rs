//! The `pvectl` binary: see the library's `cli` module.

fn main() {
    std::process::exit(pvectl::cli::main());
}
