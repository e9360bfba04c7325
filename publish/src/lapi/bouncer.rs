//! The bouncer endpoints: `GET|HEAD /v1/decisions` (point lookups) and
//! `GET|HEAD /v1/decisions/stream` (snapshot, then deltas per bouncer).

use super::error::{json, ApiError};
use super::index::Inner;
use super::query::{DecisionQuery, Route};
use super::state::{LapiState, StreamPos};
use super::ClientIp;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

type Params = Query<Vec<(String, String)>>;

/// `GET|HEAD /v1/decisions`.
pub(crate) async fn decisions(
    State(st): State<Arc<LapiState>>,
    method: Method,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let head = method == Method::HEAD;
    let who = st.bouncer(&headers, ip, head)?;
    if head {
        return Ok(StatusCode::OK.into_response());
    }
    let q = DecisionQuery::parse(&params, Route::Decisions)?;
    let now = st.now();
    let now_ns = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
    let mut out = String::with_capacity(256);
    {
        let r = st.index.read();
        let keys: Box<dyn Iterator<Item = i64>> = match &q.span {
            Some(s) if q.contains => Box::new(r.candidates_for(s).into_iter()),
            _ => Box::new(r.entries.keys().copied()),
        };
        let mut n = 0usize;
        let mut skipped = 0usize;
        for k in keys {
            let Some(e) = r.entries.get(&k) else { continue };
            if e.until < now_ns || !q.matches(e) {
                continue;
            }
            if skipped < q.offset {
                skipped += 1;
                continue;
            }
            if q.limit.is_some_and(|l| n >= l) {
                break;
            }
            out.push(if n == 0 { '[' } else { ',' });
            e.write_json(&mut out, now_ns, false);
            n += 1;
        }
        if n == 0 {
            out.push_str("null");
        } else {
            out.push(']');
        }
    }
    st.pulled(&who.name, None, now);
    Ok(json(StatusCode::OK, out))
}

/// Writes one stream list.
fn write_list(out: &mut String, keys: &[i64], r: &Inner, now_ns: i64, null: bool) {
    if keys.is_empty() && null {
        out.push_str("null");
        return;
    }
    out.push('[');
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        r.entries[k].write_json(out, now_ns, true);
    }
    out.push(']');
}

/// `GET|HEAD /v1/decisions/stream`.
pub(crate) async fn stream(
    State(st): State<Arc<LapiState>>,
    method: Method,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let head = method == Method::HEAD;
    let who = st.bouncer(&headers, ip, head)?;
    if head {
        return Ok(StatusCode::OK.into_response());
    }
    let q = DecisionQuery::parse(&params, Route::Stream)?;
    let now = st.now();
    let now_ns = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
    let pos = if q.startup {
        None
    } else {
        st.stream_pos(&who.name)
    };
    let null = st.config.stream_null;
    let (body, seq) = {
        let r = st.index.read();
        let keep = |e: &super::index::Entry| q.matches(e);
        // Only the decision with the longest `until` of its (scope, value, type) counts.
        let top = |e: &super::index::Entry| !q.dedup || e.until >= r.group_max_until(e, &keep);
        let mut new: Vec<i64> = match pos {
            None => r
                .entries
                .values()
                .filter(|e| e.until > now_ns && keep(e) && top(e))
                .map(|e| e.key)
                .collect(),
            Some(p) => r
                .by_added
                .range(p.seq + 1..)
                .filter_map(|(_, k)| r.entries.get(k))
                .filter(|e| e.until > now_ns && keep(e) && top(e))
                .map(|e| e.key)
                .collect(),
        };
        let low = match pos {
            None => i64::MIN,
            Some(p) => p
                .last_pull
                .timestamp_nanos_opt()
                .unwrap_or(i64::MIN)
                .saturating_sub(2_000_000_000),
        };
        let mut deleted: Vec<i64> = r
            .by_until
            .range((low.saturating_add(1), i64::MIN)..(now_ns, i64::MIN))
            .filter_map(|(_, k)| r.entries.get(k))
            .filter(|e| keep(e) && top(e))
            .map(|e| e.key)
            .collect();
        new.sort_unstable();
        deleted.sort_unstable();
        let mut body = String::with_capacity(32 + (new.len() + deleted.len()) * 180);
        body.push_str("{\"new\": ");
        write_list(&mut body, &new, &r, now_ns, null);
        body.push_str(", \"deleted\": ");
        write_list(&mut body, &deleted, &r, now_ns, null);
        body.push('}');
        (body, r.seq())
    };
    st.pulled(
        &who.name,
        Some(StreamPos {
            last_pull: now,
            seq,
        }),
        now,
    );
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}
