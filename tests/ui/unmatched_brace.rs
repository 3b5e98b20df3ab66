fn main() {
    trail::info!("closing } alone");
}
