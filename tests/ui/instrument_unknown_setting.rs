#[trail::instrument(nmae = "charge")]
fn charge(order_id: u64) {}

fn main() {
    charge(7);
}
