fn main() {
    let b = 1;
    trail::info!(%a = b, "m");
}
