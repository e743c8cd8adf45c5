// The scenario test cases are generated from the files in scenarios/ at compile time (rstest
// #[files]); rebuild the tests when one is added, changed or removed.
fn main() {
    println!("cargo::rerun-if-changed=scenarios");
}
