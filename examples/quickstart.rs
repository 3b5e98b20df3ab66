//! The shortest useful program: install the writer, log structured events, stop.
//!
//! Run with `cargo run --example quickstart`, then look in `quickstart-logs/`.

use serde::Serialize;

#[derive(Serialize)]
struct Cart {
    items: u32,
    total: f64,
    skus: Vec<&'static str>,
}

fn main() -> Result<(), trail::Error> {
    // The guard keeps the writer thread running; dropping it writes everything out.
    let guard = trail::builder()
        .dir("quickstart-logs")
        .name("shop")
        .level(trail::LevelFilter::Debug)
        .install()?;

    let user_id = 42_u64;
    let product_id = 1042_u32;
    let client: std::net::IpAddr = "203.0.113.9".parse().unwrap();

    trail::info!(
        actor = user_id,
        product_id,
        quantity = 3,
        "added {quantity} items to cart"
    );
    trail::debug!(
        actor = client,
        path = "/cart",
        status = 200_u16,
        "request served"
    );

    let cart = Cart {
        items: 3,
        total: 59.7,
        skus: vec!["A-1", "B-2"],
    };
    trail::info!(actor = user_id, cart = #cart, "checkout started");

    let err = std::io::Error::other("card declined");
    trail::warn!(actor = user_id, error = %err, attempt = 1, "payment failed, retrying");

    trail::flush();
    println!("events written to {}", guard.path().display());
    Ok(())
}
