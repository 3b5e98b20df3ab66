struct Card;

#[trail::instrument]
fn charge(order_id: u64, card: Card) {}

fn main() {
    charge(7, Card);
}
