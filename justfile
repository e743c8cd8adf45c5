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

# Run a new or changed scenario; if as documented, keep its snapshot and update the teaching pages
accept ID:
    cargo run -- accept {{ID}}

# Review changed snapshots (needs `cargo install cargo-insta`)
review:
    cargo insta review

# Formatting and lints, as CI runs them
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Every figure beside its anchor and the machine: in-process, process against process (oidc-provider-mock,
# squid), the containers backend, then whole commands (tests, real RPs, a downstream cold build)
bench *ARGS:
    python3 -m pip install --quiet oidc-provider-mock
    cargo build --release -p sso-harness --bin sso-party
    cargo bench --bench harness
    cargo bench --bench fair
    cargo bench --features containers --bench containers
    benches/walls.sh {{ARGS}}

# Run every scenario on the containers backend too (needs a Docker engine)
test-containers:
    cargo test --features containers --test scenarios --test scenario_files

# Run the catalog on the containers backend
catalog-containers:
    cargo run --features containers -- run --backend containers

# Build the static sso-party binary and its image (what the containers tests do first)
images:
    RUSTFLAGS='-C target-feature=+crt-static' CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_DEV_STRIP=symbols cargo build --bin sso-party --target x86_64-unknown-linux-gnu --manifest-path harness/Cargo.toml --target-dir target/party-static
    cargo bench --features containers --bench containers -- --images-only

# Show anything of ours left on the Docker engine
leftovers:
    docker ps -a --filter label=org.sso-repro
    docker network ls --filter label=org.sso-repro
