fn main() {
    let level = trail::Level::Info;
    trail::event!(level, "m");
}
