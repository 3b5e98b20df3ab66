fn main() {
    trail::info!("no placeholder", 5);
}
