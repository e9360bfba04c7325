//! [`FileTailer`] driven directly, one `poll()` at a time, over real files in a tempdir.

use crate::source::{FileTailer, TailLine, TailOptions};
use regex::Regex;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

fn append(path: &Path, data: &[u8]) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(data).unwrap();
}

fn texts(lines: &[TailLine]) -> Vec<&str> {
    lines.iter().map(|l| l.line.text.as_str()).collect()
}

fn tailer(patterns: &[&Path], follow: bool) -> FileTailer {
    FileTailer::new(TailOptions::new(
        patterns
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        follow,
    ))
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

#[test]
fn tail_starts_at_the_end_and_cat_at_the_beginning() {
    let d = Dir::new();
    let log = d.path("a.log");
    append(&log, b"old 1\nold 2\n");

    let mut tail = tailer(&[&log], true);
    assert!(
        tail.poll().unwrap().is_empty(),
        "tail mode skips what was there at startup"
    );
    append(&log, b"new 1\n");
    let lines = tail.poll().unwrap();
    assert_eq!(texts(&lines), vec!["new 1"]);
    assert_eq!(lines[0].path, log.to_string_lossy());
    assert!(tail.poll().unwrap().is_empty());

    let mut cat = tailer(&[&log], false);
    assert_eq!(texts(&cat.poll().unwrap()), vec!["old 1", "old 2", "new 1"]);
    assert!(cat.is_done());
}

#[test]
fn a_partial_line_waits_for_its_newline() {
    let d = Dir::new();
    let log = d.path("a.log");
    fs::write(&log, b"").unwrap();
    let mut t = tailer(&[&log], true);
    t.poll().unwrap();
    append(&log, b"first\nsec");
    assert_eq!(texts(&t.poll().unwrap()), vec!["first"]);
    assert!(t.poll().unwrap().is_empty(), "no newline yet");
    append(&log, b"ond\n");
    assert_eq!(texts(&t.poll().unwrap()), vec!["second"]);
}

#[test]
fn cat_mode_emits_a_final_unterminated_line() {
    let d = Dir::new();
    let log = d.path("a.log");
    fs::write(&log, b"one\ntwo").unwrap();
    let mut t = tailer(&[&log], false);
    assert_eq!(texts(&t.poll().unwrap()), vec!["one", "two"]);
    assert!(t.is_done());
}

#[test]
fn rename_rotation_drains_the_old_file_then_reads_the_new_one() {
    let d = Dir::new();
    let log = d.path("auth.log");
    fs::write(&log, b"").unwrap();
    let mut t = tailer(&[&log], true);
    t.poll().unwrap();
    append(&log, b"before rotation\n");
    assert_eq!(texts(&t.poll().unwrap()), vec!["before rotation"]);

    // logrotate: rename, the writer still has the old file open, then a new file appears.
    let mut writer = OpenOptions::new().append(true).open(&log).unwrap();
    fs::rename(&log, d.path("auth.log.1")).unwrap();
    writer
        .write_all(b"written after the rename\nand its partial")
        .unwrap();
    append(&log, b"in the new file\n");

    let lines = t.poll().unwrap();
    assert_eq!(
        texts(&lines),
        vec![
            "written after the rename",
            "and its partial",
            "in the new file"
        ]
    );
    assert_eq!(lines[2].path, log.to_string_lossy());
    writer.write_all(b"too late\n").unwrap();
    append(&log, b"more new\n");
    assert_eq!(texts(&t.poll().unwrap()), vec!["more new"]);
}

#[test]
fn a_rotated_file_still_matched_by_the_glob_keeps_its_offset() {
    let d = Dir::new();
    let log = d.path("app.log");
    fs::write(&log, b"").unwrap();
    let pattern = d.path("app.log*");
    let mut t = tailer(&[&pattern], true);
    t.poll().unwrap();
    append(&log, b"a\n");
    assert_eq!(texts(&t.poll().unwrap()), vec!["a"]);
    fs::rename(&log, d.path("app.log.1")).unwrap();
    append(&d.path("app.log.1"), b"b\n");
    append(&log, b"c\n");
    let lines = t.poll().unwrap();
    assert_eq!(
        texts(&lines),
        vec!["c", "b"],
        "no line of app.log.1 is read twice"
    );
    assert_eq!(lines[1].path, d.path("app.log.1").to_string_lossy());
}

#[test]
fn copytruncate_restarts_at_the_beginning() {
    let d = Dir::new();
    let log = d.path("a.log");
    fs::write(&log, b"").unwrap();
    let mut t = tailer(&[&log], true);
    t.poll().unwrap();
    append(&log, b"a fairly long first line\n");
    assert_eq!(texts(&t.poll().unwrap()), vec!["a fairly long first line"]);
    // copytruncate: the file is copied elsewhere, then truncated in place.
    fs::copy(&log, d.path("a.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, b"short\n");
    assert_eq!(texts(&t.poll().unwrap()), vec!["short"]);
}

#[test]
fn a_glob_picks_up_files_created_later_from_their_beginning() {
    let d = Dir::new();
    let pattern = d.path("*.log");
    let mut t = tailer(&[&pattern], true);
    assert!(t.poll().unwrap().is_empty());
    assert_eq!(
        t.unmatched_patterns(),
        vec![pattern.to_string_lossy().into_owned()]
    );
    append(&d.path("b.log"), b"b1\n");
    append(&d.path("a.log"), b"a1\na2\n");
    let lines = t.poll().unwrap();
    assert_eq!(texts(&lines), vec!["a1", "a2", "b1"]);
    assert_eq!(t.paths(), vec![d.path("a.log"), d.path("b.log")]);
}

#[test]
fn excluded_paths_are_ignored() {
    let d = Dir::new();
    append(&d.path("keep.log"), b"kept\n");
    append(&d.path("skip.log"), b"skipped\n");
    let mut opts = TailOptions::new(vec![d.path("*.log").to_string_lossy().into_owned()], false);
    opts.exclude = vec![Regex::new(r"skip\.log$").unwrap()];
    let mut t = FileTailer::new(opts);
    assert_eq!(texts(&t.poll().unwrap()), vec!["kept"]);
}

#[test]
fn empty_lines_are_kept_by_the_tailer_and_crlf_is_stripped() {
    // The tailer reports them; the emitter skips them (see the run tests).
    let d = Dir::new();
    let log = d.path("a.log");
    fs::write(&log, b"a\r\n\nb\n").unwrap();
    let mut t = tailer(&[&log], false);
    assert_eq!(texts(&t.poll().unwrap()), vec!["a", "", "b"]);
}

#[test]
fn long_lines_are_truncated_and_invalid_utf8_replaced() {
    let d = Dir::new();
    let log = d.path("a.log");
    let mut data = vec![b'x'; 100];
    data.extend_from_slice(b"\nbad \xff\xfe here\nok\n");
    fs::write(&log, &data).unwrap();
    let mut opts = TailOptions::new(vec![log.to_string_lossy().into_owned()], false);
    opts.max_line_bytes = 10;
    let mut t = FileTailer::new(opts);
    let lines = t.poll().unwrap();
    assert_eq!(lines[0].line.text, "xxxxxxxxxx");
    assert!(lines[0].line.truncated);
    assert_eq!(lines[1].line.text, "bad \u{fffd}\u{fffd} her");
    assert!(lines[1].line.invalid_utf8 && lines[1].line.truncated);
    assert_eq!(lines[2].line.text, "ok");
    assert!(!lines[2].line.truncated && !lines[2].line.invalid_utf8);
}

#[test]
fn the_read_budget_spreads_a_big_file_over_several_polls() {
    let d = Dir::new();
    let log = d.path("a.log");
    let data: String = (0..100).map(|i| format!("line {i:03}\n")).collect();
    fs::write(&log, &data).unwrap();
    let mut opts = TailOptions::new(vec![log.to_string_lossy().into_owned()], false);
    opts.read_budget = 100;
    let mut t = FileTailer::new(opts);
    let mut all = Vec::new();
    let mut polls = 0;
    while !t.is_done() {
        all.extend(t.poll().unwrap());
        polls += 1;
        assert!(polls < 1000);
    }
    assert!(polls > 5, "{polls}");
    assert_eq!(all.len(), 100);
    assert_eq!(all[99].line.text, "line 099");
}

#[test]
fn a_deleted_file_is_read_to_its_end_and_a_recreated_one_from_its_start() {
    let d = Dir::new();
    let log = d.path("a.log");
    fs::write(&log, b"").unwrap();
    let mut t = tailer(&[&log], true);
    t.poll().unwrap();
    let mut writer = OpenOptions::new().append(true).open(&log).unwrap();
    writer.write_all(b"last words\n").unwrap();
    fs::remove_file(&log).unwrap();
    assert_eq!(texts(&t.poll().unwrap()), vec!["last words"]);
    assert!(t.paths().is_empty());
    assert!(t.poll().unwrap().is_empty(), "a missing file is waited for");
    append(&log, b"reborn\n");
    assert_eq!(texts(&t.poll().unwrap()), vec!["reborn"]);
}

#[cfg(unix)]
#[test]
fn unreadable_files_fail_cat_mode_but_not_tail_mode() {
    use std::os::unix::fs::PermissionsExt;
    let d = Dir::new();
    let log = d.path("secret.log");
    fs::write(&log, b"x\n").unwrap();
    fs::set_permissions(&log, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::File::open(&log).is_ok() {
        return; // running as root: permissions do not apply
    }
    let err = tailer(&[&log], false).poll().unwrap_err();
    assert!(err.to_string().contains("secret.log"), "{err}");
    let errors = palisade_runtime::metrics::Counter::default();
    let mut t = tailer(&[&log], true).with_error_counter(errors.clone());
    assert!(t.poll().unwrap().is_empty());
    assert!(t.poll().unwrap().is_empty());
    assert_eq!(errors.get(), 2);
    fs::set_permissions(&log, fs::Permissions::from_mode(0o644)).unwrap();
    append(&log, b"y\n");
    assert_eq!(
        texts(&t.poll().unwrap()),
        vec!["x", "y"],
        "once readable, read from the start"
    );
}
