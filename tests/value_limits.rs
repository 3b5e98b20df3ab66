//! Very large values are cut at capture, with a marker, so memory stays bounded.

mod common;

use trail::ValueRef;

#[test]
fn long_values_are_cut_with_a_marker_at_a_character_boundary() {
    let _s = common::serial();
    trail::set_max_value_bytes(100);
    let huge = "é".repeat(5_000_000); // 10 MB
    let shown = std::path::Path::new("/x").join("y".repeat(1000));
    #[derive(serde::Serialize)]
    struct Body {
        text: String,
    }
    let body = Body {
        text: "z".repeat(500),
    };
    trail::info!(huge, path = %shown.display(), body = #body, "{}", "w".repeat(300));
    let record = common::one();
    let values = record.decode().values().to_vec();
    let ValueRef::Str(cut) = values[0] else {
        panic!("{:?}", values[0])
    };
    assert_eq!(cut, format!("{}…[cut 9999900 bytes]", "é".repeat(50)));
    let ValueRef::Str(cut) = values[1] else {
        panic!()
    };
    assert!(
        cut.ends_with("…[cut 903 bytes]") && cut.len() < 130,
        "{cut}"
    );
    assert_eq!(
        values[2].to_string(),
        format!("{{\"text\": \"{}…[cut 400 bytes]\"}}", "z".repeat(100))
    );
    let ValueRef::Str(arg) = values[3] else {
        panic!()
    };
    assert!(arg.ends_with("…[cut 200 bytes]"), "{arg}");
    assert!(
        record.payload_len() < 1000,
        "the payload stays small: {}",
        record.payload_len()
    );

    trail::set_max_value_bytes(1 << 20);
    trail::info!(text = "x".repeat(300), "under the default limit");
    assert_eq!(
        common::one().decode().values()[0],
        ValueRef::Str(&"x".repeat(300))
    );
}
