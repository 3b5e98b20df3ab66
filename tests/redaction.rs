//! Secret fields are written as "[REDACTED]" in every format, wherever they come from.

use std::sync::Mutex;

use trail::read::FieldValue;
use trail::Format;

/// The tests of this file install the one global writer in turn.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn secrets_never_reach_the_files() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for format in [Format::Json, Format::Csv, Format::Text, Format::Bincode] {
        let dir = tempfile::tempdir().unwrap();
        let guard = trail::builder()
            .dir(dir.path())
            .format(format)
            .redact(["password", "token", "actor"])
            .install()
            .unwrap();
        let password = "hunter2";
        trail::info!(
            actor = "ana",
            user = "ana",
            password,
            "login with {password}"
        );
        {
            let _scope = trail::scope!(token = "t-secret", request_id = "r-1");
            trail::info!("scoped");
        }
        drop(guard);
        let raw: Vec<u8> = std::fs::read_dir(dir.path())
            .unwrap()
            .flat_map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        let raw = String::from_utf8_lossy(&raw);
        assert!(
            !raw.contains("hunter2") && !raw.contains("t-secret"),
            "{format}: {raw}"
        );
        let records: Vec<_> = trail::read::open(dir.path())
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let redacted = Some(FieldValue::Str("[REDACTED]".into()));
        assert_eq!(records[0].field("password").cloned(), redacted, "{format}");
        assert_eq!(
            records[0].field("user"),
            Some(&FieldValue::Str("ana".into())),
            "{format}"
        );
        assert_eq!(records[0].actor, redacted, "{format}");
        assert_eq!(records[0].msg, "login with [REDACTED]", "{format}");
        assert_eq!(records[1].field("token").cloned(), redacted, "{format}");
        assert_eq!(
            records[1].field("request_id"),
            Some(&FieldValue::Str("r-1".into())),
            "{format}"
        );
    }
}

/// A field marked at the call with `trail::secret` is never captured: the record itself,
/// in the queue and in every format, holds only the marker.
#[test]
fn fields_marked_secret_at_the_call_are_never_captured() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for format in [Format::Json, Format::Csv, Format::Text, Format::Bincode] {
        let dir = tempfile::tempdir().unwrap();
        let guard = trail::builder()
            .dir(dir.path())
            .format(format)
            .filter_from_env(false)
            .install()
            .unwrap();
        let card = String::from("4111-1111-1111-1111");
        trail::info!(
            user = "ana",
            card = trail::secret(&card),
            "paid with {card}"
        );
        drop(guard);
        let raw: Vec<u8> = std::fs::read_dir(dir.path())
            .unwrap()
            .flat_map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        assert!(
            !String::from_utf8_lossy(&raw).contains("4111"),
            "{format}: the card number reached a file"
        );
        let records: Vec<_> = trail::read::open(dir.path())
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(records.len(), 1, "{format}");
        let record = &records[0];
        assert_eq!(
            record.field("card"),
            Some(&FieldValue::Str("[REDACTED]".into())),
            "{format}"
        );
        assert_eq!(record.field("user"), Some(&FieldValue::Str("ana".into())));
        assert_eq!(record.msg, "paid with [REDACTED]", "{format}");
    }
}
