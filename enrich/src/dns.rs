//! `reverse_dns`: the first PTR name of an IP (`Enriched.reverse_dns`), with a bounded cache
//! (positive TTL, negative TTL, size; least recently used entries go first), as CrowdSec's
//! `pkg/parser/enrich_dns.go` over `pkg/dnscache`. Names end with a dot, as Go returns them
//! (`one.one.one.one.`).
//!
//! **Deviation from CrowdSec**: CrowdSec resolves inline and blocks the parser for up to the
//! lookup timeout. Here `enrich` never blocks: a cache hit answers at once; a miss answers
//! empty and schedules the lookup in the background (on the tokio blocking pool when called
//! inside a runtime, else on a short-lived thread), with at most `max_in_flight` lookups at a
//! time and one per address. Later events from the same address get the name. The method is
//! off unless enabled in the configuration; when off it is registered but always empty, so
//! parsers naming it still load.

use crate::{Enricher, Enrichment};
use palisade_schemas::{Event, FieldName};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A blocking reverse resolver.
pub trait Resolver: Send + Sync + 'static {
    /// The first PTR name of `ip`, or `None` when there is none (or the lookup failed).
    fn reverse(&self, ip: IpAddr) -> Option<String>;
}

/// The system resolver (`getnameinfo`: `/etc/hosts`, then DNS, per the system's settings).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn reverse(&self, ip: IpAddr) -> Option<String> {
        dns_lookup::lookup_addr(&ip).ok()
    }
}

/// Cache and concurrency settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReverseDnsOptions {
    /// How long a name is kept.
    pub ttl: Duration,
    /// How long "no name" is kept.
    pub negative_ttl: Duration,
    /// Most addresses kept.
    pub cache_size: usize,
    /// Most lookups running at once; misses beyond it are not scheduled (a later event
    /// from the address tries again).
    pub max_in_flight: usize,
}

impl Default for ReverseDnsOptions {
    /// CrowdSec's defaults: 1 h, 5 min, 16,384 entries; 8 lookups at once.
    fn default() -> Self {
        ReverseDnsOptions {
            ttl: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(300),
            cache_size: 16_384,
            max_in_flight: 8,
        }
    }
}

struct Entry {
    name: Option<String>,
    expires: Instant,
    used: u64,
}

/// The bounded cache; time is passed in so that it can be tested without sleeping.
struct DnsCache {
    entries: HashMap<IpAddr, Entry>,
    pending: HashSet<IpAddr>,
    tick: u64,
    size: usize,
}

/// What the cache knows of an address.
#[derive(Debug, PartialEq, Eq)]
enum Cached {
    Name(String),
    NoName,
    Unknown,
}

impl DnsCache {
    fn new(size: usize) -> Self {
        DnsCache {
            entries: HashMap::new(),
            pending: HashSet::new(),
            tick: 0,
            size: size.max(1),
        }
    }

    fn get(&mut self, ip: IpAddr, now: Instant) -> Cached {
        self.tick += 1;
        let tick = self.tick;
        match self.entries.get_mut(&ip) {
            Some(e) if e.expires > now => {
                e.used = tick;
                match &e.name {
                    Some(n) => Cached::Name(n.clone()),
                    None => Cached::NoName,
                }
            }
            Some(_) => {
                self.entries.remove(&ip);
                Cached::Unknown
            }
            None => Cached::Unknown,
        }
    }

    fn insert(&mut self, ip: IpAddr, name: Option<String>, ttl: Duration, now: Instant) {
        self.tick += 1;
        let entry = Entry {
            name,
            expires: now + ttl,
            used: self.tick,
        };
        self.entries.insert(ip, entry);
        if self.entries.len() > self.size {
            self.evict(now);
        }
    }

    /// Drops expired entries, then the least recently used down to 7/8 of the size, so that
    /// the scan is paid once per many inserts.
    fn evict(&mut self, now: Instant) {
        self.entries.retain(|_, e| e.expires > now);
        if self.entries.len() <= self.size {
            return;
        }
        let keep = self.size - self.size / 8;
        let mut ages: Vec<u64> = self.entries.values().map(|e| e.used).collect();
        let cut = ages.len() - keep;
        let (_, &mut oldest_kept, _) = ages.select_nth_unstable(cut);
        self.entries.retain(|_, e| e.used >= oldest_kept);
    }
}

struct Inner {
    resolver: Arc<dyn Resolver>,
    options: ReverseDnsOptions,
    cache: Mutex<DnsCache>,
}

impl Inner {
    fn cache(&self) -> std::sync::MutexGuard<'_, DnsCache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs one lookup and stores its answer.
    fn resolve(&self, ip: IpAddr) {
        let name = self
            .resolver
            .reverse(ip)
            .filter(|n| !n.is_empty())
            .map(|mut n| {
                if !n.ends_with('.') {
                    n.push('.');
                }
                n
            });
        let ttl = if name.is_some() {
            self.options.ttl
        } else {
            self.options.negative_ttl
        };
        tracing::trace!(%ip, ?name, "reverse dns");
        let mut cache = self.cache();
        cache.insert(ip, name, ttl, Instant::now());
        cache.pending.remove(&ip);
    }
}

/// Clears an address's pending mark even when its lookup never ran (runtime shut down).
struct Pending {
    inner: Arc<Inner>,
    ip: IpAddr,
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.inner.cache().pending.remove(&self.ip);
    }
}

/// The `reverse_dns` method.
#[derive(Clone)]
pub struct ReverseDns {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for ReverseDns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReverseDns")
            .field("options", &self.inner.as_ref().map(|i| i.options))
            .finish()
    }
}

impl ReverseDns {
    /// Enabled, resolving with `resolver`.
    pub fn new(resolver: Arc<dyn Resolver>, options: ReverseDnsOptions) -> Self {
        ReverseDns {
            inner: Some(Arc::new(Inner {
                resolver,
                options,
                cache: Mutex::new(DnsCache::new(options.cache_size)),
            })),
        }
    }

    /// Enabled, with the system resolver.
    pub fn system(options: ReverseDnsOptions) -> Self {
        Self::new(Arc::new(SystemResolver), options)
    }

    /// Off: registered, always empty.
    pub fn disabled() -> Self {
        ReverseDns { inner: None }
    }

    /// Whether lookups are made.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Addresses in the cache (expired ones included until evicted).
    pub fn cached(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.cache().entries.len())
    }

    /// The cached name of `input`, scheduling a lookup on a miss.
    pub fn lookup(&self, input: &str) -> Option<String> {
        let inner = self.inner.as_ref()?;
        let ip = input.parse::<IpAddr>().ok()?.to_canonical();
        {
            let mut cache = inner.cache();
            match cache.get(ip, Instant::now()) {
                Cached::Name(n) => return Some(n),
                Cached::NoName => return None,
                Cached::Unknown => {}
            }
            if cache.pending.contains(&ip) || cache.pending.len() >= inner.options.max_in_flight {
                return None;
            }
            cache.pending.insert(ip);
        }
        let pending = Pending {
            inner: inner.clone(),
            ip,
        };
        let job = move || {
            pending.inner.resolve(pending.ip);
            drop(pending);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(job);
            }
            Err(_) => {
                if let Err(e) = std::thread::Builder::new()
                    .name("palisade-rdns".to_string())
                    .spawn(job)
                {
                    // The closure (and its pending mark) was dropped with the error.
                    tracing::debug!(%ip, error = %e, "cannot start a reverse dns lookup");
                }
            }
        }
        None
    }
}

impl Enricher for ReverseDns {
    fn name(&self) -> &'static str {
        "reverse_dns"
    }

    fn enrich(&self, input: &str, _: &Event) -> Enrichment {
        let mut out = Enrichment::default();
        if let Some(name) = self.lookup(input) {
            out.fields
                .insert(FieldName::from_static("reverse_dns"), name);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fields;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers from a table and counts its calls.
    struct Fake {
        calls: AtomicUsize,
        gate: Mutex<()>,
    }

    impl Resolver for Fake {
        fn reverse(&self, ip: IpAddr) -> Option<String> {
            let _g = self.gate.lock().unwrap();
            self.calls.fetch_add(1, Ordering::SeqCst);
            match ip.to_string().as_str() {
                "1.1.1.1" => Some("one.one.one.one.".to_string()),
                "192.0.2.1" => Some("host.example".to_string()),
                _ => None,
            }
        }
    }

    fn fake() -> Arc<Fake> {
        Arc::new(Fake {
            calls: AtomicUsize::new(0),
            gate: Mutex::new(()),
        })
    }

    /// Polls `enrich` until it answers, within 5 s.
    fn eventually(e: &ReverseDns, input: &str) -> Fields {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = e.enrich(input, &Event::default()).fields;
            if !got.is_empty() || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits until no lookup is pending.
    fn settle(e: &ReverseDns) {
        let inner = e.inner.as_ref().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !inner.cache().pending.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn a_miss_answers_empty_then_the_cache_answers() {
        let f = fake();
        let e = ReverseDns::new(f.clone(), ReverseDnsOptions::default());
        let ev = Event::default();
        let cases: &[(&str, Option<&str>)] = &[
            ("1.1.1.1", Some("one.one.one.one.")),
            ("::ffff:192.0.2.1", Some("host.example.")),
            ("192.0.2.1", Some("host.example.")),
            ("203.0.113.9", None),
        ];
        for (input, want) in cases {
            let first = e.enrich(input, &ev).fields;
            if let Some(w) = want {
                let got = if first.is_empty() {
                    eventually(&e, input)
                } else {
                    first
                };
                assert_eq!(
                    got.get("reverse_dns").map(String::as_str),
                    Some(*w),
                    "{input}"
                );
            } else {
                settle(&e);
                assert!(e.enrich(input, &ev).fields.is_empty(), "{input}");
            }
        }
        settle(&e);
        let calls = f.calls.load(Ordering::SeqCst);
        assert_eq!(
            calls, 3,
            "one lookup per address, the mapped form shares the entry"
        );
        // Negative answers are cached too.
        for _ in 0..10 {
            assert!(e.enrich("203.0.113.9", &ev).fields.is_empty());
        }
        settle(&e);
        assert_eq!(f.calls.load(Ordering::SeqCst), calls);
        for bad in ["", "host", "1.2.3"] {
            assert!(e.enrich(bad, &ev).fields.is_empty());
        }
        assert_eq!(f.calls.load(Ordering::SeqCst), calls);
    }

    #[test]
    fn lookups_run_once_per_address_and_within_the_in_flight_cap() {
        let f = fake();
        let e = ReverseDns::new(
            f.clone(),
            ReverseDnsOptions {
                max_in_flight: 2,
                ..ReverseDnsOptions::default()
            },
        );
        let gate = f.gate.lock().unwrap();
        for input in [
            "1.1.1.1",
            "1.1.1.1",
            "192.0.2.1",
            "203.0.113.1",
            "203.0.113.2",
        ] {
            assert!(e.enrich(input, &Event::default()).fields.is_empty());
        }
        assert_eq!(e.inner.as_ref().unwrap().cache().pending.len(), 2);
        drop(gate);
        assert_eq!(eventually(&e, "1.1.1.1")["reverse_dns"], "one.one.one.one.");
        settle(&e);
        assert_eq!(f.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn uses_the_tokio_blocking_pool_inside_a_runtime() {
        let e = ReverseDns::new(fake(), ReverseDnsOptions::default());
        assert!(e.enrich("1.1.1.1", &Event::default()).fields.is_empty());
        let e2 = e.clone();
        let got = tokio::task::spawn_blocking(move || eventually(&e2, "1.1.1.1"))
            .await
            .unwrap();
        assert_eq!(got["reverse_dns"], "one.one.one.one.");
    }

    #[test]
    fn disabled_is_always_empty() {
        let e = ReverseDns::disabled();
        assert!(!e.is_enabled());
        assert!(e.enrich("127.0.0.1", &Event::default()).fields.is_empty());
        assert_eq!(e.cached(), 0);
    }

    #[test]
    fn cache_expires_and_evicts_least_recently_used() {
        let t0 = Instant::now();
        let ip = |n: u8| IpAddr::from([10, 0, 0, n]);
        let mut c = DnsCache::new(8);
        c.insert(ip(1), Some("a.".into()), Duration::from_secs(10), t0);
        c.insert(ip(2), None, Duration::from_secs(2), t0);
        assert_eq!(c.get(ip(1), t0), Cached::Name("a.".into()));
        assert_eq!(c.get(ip(2), t0 + Duration::from_secs(1)), Cached::NoName);
        assert_eq!(c.get(ip(2), t0 + Duration::from_secs(3)), Cached::Unknown);
        assert_eq!(c.get(ip(1), t0 + Duration::from_secs(11)), Cached::Unknown);
        assert!(c.entries.is_empty());

        let mut c = DnsCache::new(8);
        for n in 1..=8 {
            c.insert(ip(n), Some(format!("h{n}.")), Duration::from_secs(60), t0);
        }
        // Touch 1 and 2 so that 3 and 4 are the least recently used.
        c.get(ip(1), t0);
        c.get(ip(2), t0);
        c.insert(ip(9), Some("h9.".into()), Duration::from_secs(60), t0);
        assert_eq!(c.entries.len(), 7);
        for gone in [3, 4] {
            assert_eq!(c.get(ip(gone), t0), Cached::Unknown, "{gone}");
        }
        for kept in [1, 2, 5, 9] {
            assert!(matches!(c.get(ip(kept), t0), Cached::Name(_)), "{kept}");
        }
        // Expired entries go first.
        let mut c = DnsCache::new(2);
        c.insert(ip(1), None, Duration::from_secs(1), t0);
        c.insert(ip(2), Some("b.".into()), Duration::from_secs(60), t0);
        c.insert(
            ip(3),
            Some("c.".into()),
            Duration::from_secs(60),
            t0 + Duration::from_secs(5),
        );
        assert_eq!(c.entries.len(), 2);
        assert!(c.entries.contains_key(&ip(2)) && c.entries.contains_key(&ip(3)));
    }

    #[test]
    fn system_resolver_on_loopback_when_available() {
        let e = ReverseDns::system(ReverseDnsOptions::default());
        let got = eventually(&e, "127.0.0.1");
        match got.get("reverse_dns") {
            Some(name) => assert!(name.ends_with('.') && name.len() > 1, "{name}"),
            None => eprintln!("no PTR name for 127.0.0.1 on this system; skipped"),
        }
    }
}
