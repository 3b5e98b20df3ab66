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
    // The serde value as a whole takes at most the limit: a map (1 byte), its key (9),
    // room to close it (3), and 5 bytes of length before the string's first 82.
    assert_eq!(
        values[2].to_string(),
        format!("{{\"text\": \"{}…[cut 418 bytes]\"}}", "z".repeat(82))
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

#[test]
fn the_value_limit_is_clamped_to_an_eighth_of_the_record_limit() {
    let _s = common::serial();
    trail::set_max_value_bytes(usize::MAX);
    let text = "x".repeat(3 << 20);
    trail::info!(text, "big");
    trail::set_max_value_bytes(1 << 20);
    let record = common::one();
    let ValueRef::Str(cut) = record.decode().values()[0] else {
        panic!()
    };
    let kept = trail::limits::MAX_RECORD_BYTES / 8;
    assert_eq!(
        cut,
        format!("{}…[cut {} bytes]", "x".repeat(kept), text.len() - kept)
    );
}

#[test]
fn the_values_of_one_event_together_stay_within_a_quarter_of_the_record_limit() {
    let _s = common::serial();
    trail::set_max_value_bytes(2 << 20);
    let s = "y".repeat(1_500_000);
    struct Raw(Vec<u8>);
    impl trail::Value for Raw {
        fn capture<'a>(&self, out: trail::Capture<'a>) -> trail::Captured<'a> {
            out.bytes(&self.0)
        }
    }
    let bytes = Raw(vec![0u8; 1_500_000]);
    trail::info!(a = s, b = s, c = s, d = s, e = bytes, "many");
    trail::set_max_value_bytes(1 << 20);
    let record = common::one();
    let budget = trail::limits::MAX_RECORD_BYTES / 4;
    assert!(
        record.payload_len() <= budget + 64,
        "{} bytes captured",
        record.payload_len()
    );
    let values = record.decode().values().to_vec();
    assert_eq!(values.len(), 5, "every field keeps its place");
    assert_eq!(values[0], ValueRef::Str(&s));
    assert_eq!(values[1], ValueRef::Str(&s));
    let ValueRef::Str(c) = values[2] else {
        panic!("{:?}", values[2])
    };
    assert!(c.starts_with("yyyy") && c.ends_with(" bytes]") && c.contains("…[cut "));
    assert_eq!(values[3], ValueRef::Str("…[cut 1500000 bytes]"));
    assert_eq!(values[4], ValueRef::Bytes(&[]));
}
