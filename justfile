# List the recipes
help:
    @just --list

# Run every test: scenarios with their chains and snapshots, party tests, doctests
test:
    cargo test --workspace

# Run the tests with nextest (parallel processes; add e.g. --partition count:1/3)
nextest *ARGS:
    cargo nextest run --workspace {{ARGS}}

# Run the whole catalog and print the report
catalog *ARGS:
    cargo run -- run {{ARGS}}

# Explain one scenario: story, expected chain, captured log
explain ID:
    cargo run -- explain {{ID}}

# Review new or changed snapshots
review:
    cargo insta review

# Formatting and lints, as CI runs them
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Measure start-up, sign-in and catalog times (release build)
bench:
    cargo bench --bench harness
