//! Rebuild the fixture tests when a sample is added to `fixtures/` (rstest `#[files]` reads
//! the folder at compile time).

fn main() {
    println!("cargo::rerun-if-changed=fixtures");
}
