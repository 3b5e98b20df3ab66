#[trail::instrument]
struct Charge;

fn main() {}
