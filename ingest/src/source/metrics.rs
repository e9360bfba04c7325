//! The metrics every source moves. Each series is labelled with the source's `name` and
//! `module` (`file`, `stdin`, `syslog`, `journalctl`).

use palisade_runtime::metrics::MetricDef;

/// Lines a source emitted into the pipeline.
pub static LINES_READ: MetricDef = MetricDef::counter(
    "palisade_ingest_lines_read_total",
    "Lines a source read and emitted (empty lines are skipped and not counted).",
);
/// Lines cut at the source's length cap.
pub static LINES_TRUNCATED: MetricDef = MetricDef::counter(
    "palisade_ingest_lines_truncated_total",
    "Lines longer than the source's cap, emitted truncated.",
);
/// Lines that were not valid UTF-8.
pub static LINES_INVALID_UTF8: MetricDef = MetricDef::counter(
    "palisade_ingest_lines_invalid_utf8_total",
    "Lines that were not valid UTF-8, emitted with U+FFFD replacing the bad bytes.",
);
/// Read, accept or helper-process problems a source recovered from (or stopped on).
pub static SOURCE_ERRORS: MetricDef = MetricDef::counter(
    "palisade_ingest_source_errors_total",
    "Errors a source met: unreadable files, failed accepts, a source stopping on an error.",
);
/// Syslog messages neither RFC 3164 nor RFC 5424, passed through raw.
pub static SYSLOG_UNPARSED: MetricDef = MetricDef::counter(
    "palisade_ingest_syslog_unparsed_messages_total",
    "Syslog messages that matched neither RFC 3164 nor RFC 5424 and were emitted raw.",
);
/// Journal entries that were not a JSON object with a MESSAGE.
pub static JOURNAL_INVALID: MetricDef = MetricDef::counter(
    "palisade_ingest_journal_invalid_entries_total",
    "journalctl output lines that were not a JSON entry with a MESSAGE, skipped.",
);
