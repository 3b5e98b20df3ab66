#[trail::instrument(skip(card))]
fn charge(order_id: u64, cards: &str) {}

fn main() {
    charge(7, "4242");
}
