//! trail reads u128 and i128 back exactly without changing serde_json for the rest of the
//! program: serde_json's `arbitrary_precision` would break an application's internally
//! tagged and untagged enums that hold numbers, so trail must not turn it on.

#[derive(serde::Deserialize, Debug, PartialEq)]
#[serde(tag = "type")]
enum Tagged {
    Price { amount: f64 },
}

#[derive(serde::Deserialize, Debug, PartialEq)]
#[serde(untagged)]
enum Untagged {
    Number(f64),
}

#[test]
fn an_applications_tagged_and_untagged_enums_with_numbers_still_deserialize() {
    let tagged: Tagged = serde_json::from_str(r#"{"type":"Price","amount":1.5}"#).unwrap();
    assert_eq!(tagged, Tagged::Price { amount: 1.5 });
    let untagged: Untagged = serde_json::from_str("2.5").unwrap();
    assert_eq!(untagged, Untagged::Number(2.5));
}

#[test]
fn integers_beyond_64_bits_read_back_exactly_from_json_lines() {
    use trail::read::{FieldValue, FileFormat};
    let big = u128::MAX;
    let small = i128::MIN;
    let line = format!(
        "{{\"ts\":\"2026-11-23T22:06:12.000000001Z\",\"level\":\"info\",\"seq\":1,\"actor\":{big},\
         \"target\":\"t\",\"msg\":\"m\",\"fields\":{{\"a\":{small},\"f\":1e300,\"n\":[[{big}],{{\"x\":18446744073709551616}}],\"g\":2.5}},\
         \"file\":\"f.rs\",\"line\":1,\"thread\":\"main\"}}\n"
    );
    let records: Vec<_> =
        trail::read::from_reader(std::io::Cursor::new(line), FileFormat::Json, "<test>")
            .map(|r| r.unwrap())
            .collect();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.actor, Some(FieldValue::U128(big)));
    let field = |k: &str| {
        r.fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("a"), Some(FieldValue::I128(small)));
    assert_eq!(field("f"), Some(FieldValue::F64(1e300)));
    assert_eq!(field("g"), Some(FieldValue::F64(2.5)));
    assert_eq!(
        field("n"),
        Some(FieldValue::Seq(vec![
            FieldValue::Seq(vec![FieldValue::U128(big)]),
            FieldValue::Map(vec![("x".into(), FieldValue::U128(1 << 64))]),
        ]))
    );
}
