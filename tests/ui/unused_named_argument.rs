fn main() {
    trail::info!("done", count = 3);
}
