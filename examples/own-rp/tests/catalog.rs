//! The whole catalog against "my product", one test per scenario named `<family>::<id>`:
//! `cargo test -p own-rp-example --test catalog -- proxy-denies-connect-to-token-endpoint`.

fn main() {
    let scenarios = sso_harness::catalog::load().unwrap();
    sso_harness::catalog::test_main(scenarios, || own_rp_example::MyProductRp);
}
