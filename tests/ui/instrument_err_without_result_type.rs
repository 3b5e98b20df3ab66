#[trail::instrument(err)]
fn charge(order_id: u64) -> impl std::fmt::Debug {
    order_id
}

fn main() {
    charge(7);
}
