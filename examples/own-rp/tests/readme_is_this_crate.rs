//! Every Rust example in the README is, verbatim, in one of this crate's tests: what users copy
//! compiles and runs.

#[test]
fn every_rust_block_of_the_readme_is_a_test_here() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(here.join("../../README.md")).unwrap();
    let tests: Vec<String> = std::fs::read_dir(here.join("tests"))
        .unwrap()
        .flatten()
        .map(|entry| std::fs::read_to_string(entry.path()).unwrap())
        .collect();
    let mut blocks = 0;
    for block in readme.split("```rust\n").skip(1) {
        let block = block.split("```").next().unwrap();
        blocks += 1;
        assert!(
            tests.iter().any(|test| test.contains(block)),
            "this README example is not a test of examples/own-rp (copy it there):\n{block}"
        );
    }
    assert!(blocks >= 4, "found {blocks} Rust examples");
}
