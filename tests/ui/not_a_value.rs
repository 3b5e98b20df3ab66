struct Order;

fn main() {
    trail::info!(order = Order, "placed");
}
