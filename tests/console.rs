//! The console sink: warn and above on standard error, everything in the files; values
//! cannot put terminal escape sequences on the console.

#[test]
fn the_console_shows_its_levels_and_the_files_keep_everything() {
    let Some((dir, stderr)) = console_of_child(None, "json") else {
        return;
    };
    let lines = child_lines(&stderr);
    assert!(
        lines[0].contains(" WARN  ") && lines[0].contains("disk almost full"),
        "{stderr}"
    );
    assert!(
        lines[1].contains(" ERROR ") && lines[1].contains("\\u001b[2J"),
        "{stderr}"
    );
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "no raw control character (C0, DEL, C1) reaches the terminal: {stderr:?}"
    );
    assert!(
        lines[1].contains("raw=\"\\u007f\\u0085\\u009b31m\\r\""),
        "{stderr}"
    );
    let files: Vec<String> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap().msg)
        .collect();
    assert_eq!(
        files,
        ["starting", "disk almost full", "bad input \u{1b}[2J"]
    );
}

#[test]
fn forced_colour_paints_the_level_and_nothing_else() {
    let Some((dir, stderr)) = console_of_child(Some("1"), "json") else {
        return;
    };
    let lines = child_lines(&stderr);
    // Yellow for warn, red for error, each reset right after the level; the escape logged
    // as a value stays escaped.
    assert!(
        lines[0].contains(" \x1b[1;33mWARN \x1b[0m "),
        "{:?}",
        lines[0]
    );
    assert!(
        lines[1].contains(" \x1b[1;31mERROR\x1b[0m "),
        "{:?}",
        lines[1]
    );
    assert!(lines[1].contains("\\u001b[2J"), "{:?}", lines[1]);
    for line in &lines {
        assert_eq!(line.matches('\x1b').count(), 2, "{line:?}");
    }
    let files: Vec<String> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap().level.to_string())
        .collect();
    assert_eq!(files, ["info", "warn", "error"], "the files have no colour");
    let raw = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .any(|bytes| bytes.contains(&0x1b));
    assert!(!raw, "no escape byte in any file");
}

#[test]
fn a_text_file_holds_the_coloured_console_lines_without_their_colour() {
    let Some((dir, stderr)) = console_of_child(Some("1"), "text") else {
        return;
    };
    let mut file = String::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log") {
            file.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    assert!(
        !file.contains('\x1b'),
        "no escape byte in the file: {file:?}"
    );
    let file_lines: Vec<&str> = file.lines().collect();
    assert_eq!(file_lines.len(), 3, "{file}");
    for (line, colour) in child_lines(&stderr).into_iter().zip(["33", "31"]) {
        let plain = line
            .replacen(&format!("\x1b[1;{colour}m"), "", 1)
            .replacen("\x1b[0m", "", 1);
        assert_ne!(plain, line, "the console line is coloured: {line:?}");
        assert!(
            file_lines.contains(&plain.as_str()),
            "{plain:?} is not a line of {file:?}"
        );
    }
}

/// Runs `console_child` in a child process logging in `format` into a new directory, with
/// `CLICOLOR_FORCE` set to `force` (and `NO_COLOR` unset) or unset; returns the directory
/// and the child's standard error. None in the child itself.
fn console_of_child(force: Option<&str>, format: &str) -> Option<(tempfile::TempDir, String)> {
    if std::env::var_os("CONSOLE_CHILD_DIR").is_some() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "console_child",
            "--test-threads",
            "1",
            "--nocapture",
        ])
        .env("CONSOLE_CHILD_DIR", dir.path())
        .env("CONSOLE_CHILD_FORMAT", format)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    if let Some(force) = force {
        child.env("CLICOLOR_FORCE", force);
    }
    let out = child.output().unwrap();
    assert!(out.status.success());
    Some((dir, String::from_utf8(out.stderr).unwrap()))
}

/// The child's two console lines (its warning and its error).
fn child_lines(stderr: &str) -> Vec<&str> {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" console_child"))
        .collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    lines
}

/// Runs only as the child process of the tests above; standard error is not a terminal.
#[test]
fn console_child() {
    let Some(dir) = std::env::var_os("CONSOLE_CHILD_DIR") else {
        return;
    };
    let format: trail::Format = std::env::var("CONSOLE_CHILD_FORMAT")
        .unwrap()
        .parse()
        .unwrap();
    let guard = trail::builder()
        .dir(dir)
        .format(format)
        .filter_from_env(false)
        .level(trail::LevelFilter::Debug)
        .console(trail::LevelFilter::Warn)
        .install()
        .unwrap();
    trail::info!(target: "console_child", "starting");
    trail::warn!(target: "console_child", free = 0.04, "disk almost full");
    trail::error!(target: "console_child", raw = "\u{7f}\u{85}\u{9b}31m\r", "bad input {}", "\u{1b}[2J");
    drop(guard);
}
