//! Mistakes in logging calls are compile errors that point at the mistake.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
