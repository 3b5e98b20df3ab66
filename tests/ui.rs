//! Mistakes in logging calls are compile errors that point at the mistake.

#[test]
#[ignore = "slow (compiles every case): `cargo test --test ui -- --ignored`, which CI runs"]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
