//! Every macro form expands without the standard prelude in scope: the expansion names
//! everything through `trail`'s own paths.

mod common;

/// The calls live in a module without the prelude; the test harness around them needs it.
#[no_implicit_prelude]
mod calls {
    pub fn log_every_form() {
        let id = 1042_u32;
        let user = 7_u64;
        let who = "ana";
        let err = "disk full";
        let list = ::std::vec![1, 2];
        ::trail::trace!("plain");
        ::trail::debug!(target: "t", "with target");
        ::trail::info!(
            actor = user,
            product_id = id,
            quantity = 3,
            "added {quantity} items"
        );
        ::trail::warn!(%err, ?list, nested = #list, id, "sigils");
        ::trail::error!(user.id = 1, "http.status" = 500, "keys");
        ::trail::fatal!("{} {0} {who} {x:>3}", id, x = 5);
        ::trail::event!(::trail::Level::Info, a = 1, "event");
        ::trail::info!(a = 1);
        let _span = ::trail::scope!("named", id);
        let _ = instrumented(2);
    }

    #[::trail::instrument(fields(n = 1), err)]
    pub fn instrumented(x: u64) -> ::core::result::Result<u64, &'static str> {
        ::core::result::Result::Err("no")
    }
}

#[test]
fn every_form_expands_without_the_prelude() {
    let _s = common::serial();
    calls::log_every_form();
    let records = common::take();
    ::std::assert_eq!(records.len(), 9);
    ::std::assert_eq!(records[5].decode().message(), "1042 1042 ana   5");
}
