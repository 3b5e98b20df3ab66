fn main() {
    let _span = trail::scope!("", order_id = 7_u64);
}
