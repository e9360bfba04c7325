// temporary profiling scratch (to be deleted)
use palisade_ingest::grok::GrokLibrary;
use palisade_ingest::parser::{collect_dir, Loader, Trace};
use palisade_schemas::{Event, ExpectMode, Line};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

struct T { last: Instant, acc: HashMap<String, (f64, u64)> }
impl Trace for T {
    fn node(&mut self, stage: &str, node: &str, _s: bool, _e: &Event) {
        let now = Instant::now();
        let d = (now - self.last).as_secs_f64();
        let e = self.acc.entry(format!("{stage}/{node}")).or_default();
        e.0 += d; e.1 += 1;
        self.last = Instant::now();
    }
}

fn main() {
    if std::env::var("GROK").is_ok() { grok_times(); return; }
    let hub = Path::new("/work/shared/conformance/hub/items");
    let mut grok = GrokLibrary::new();
    grok.load_dir(&hub.join("patterns-base")).unwrap();
    grok.load_dir(&hub.join("patterns")).unwrap();
    let data = hub.join("data");
    let spec = palisade_enrich::EnrichSpec { geoip_city: Some(data.join("GeoLite2-City.mmdb")), geoip_asn: Some(data.join("GeoLite2-ASN.mmdb")), year: Some(2024), ..Default::default() };
    let enr = palisade_enrich::Registry::with_defaults(Arc::new(palisade_runtime::clock::SystemClock), &spec).unwrap();
    let mut files = collect_dir(&hub.join("parsers")).unwrap();
    files.sort_by(|a, b| (&a.stage, a.path.file_name()).cmp(&(&b.stage, b.path.file_name())));
    let mut l = Loader::new(&mut grok, &enr);
    l.data_dir = Some(&data);
    let set = l.load(&files).unwrap();
    for (file, ty) in [("auth.log", "syslog"), ("access.log", "nginx")] {
        let text = std::fs::read_to_string(Path::new("/work/main/samples").join(file)).unwrap();
        let evts: Vec<Event> = text.lines().map(|raw| Event::from_line(Line { raw: raw.into(), src: "x".into(), time: Some(chrono::Utc::now()), labels: [("type".to_string(), ty.to_string())].into(), process: false, module: "file".into() }, ExpectMode::TimeMachine)).collect();
        let mut t = T { last: Instant::now(), acc: HashMap::new() };
        let start = Instant::now();
        let mut n = 0;
        for _ in 0..5 { for e in &evts { let mut e = e.clone(); t.last = Instant::now(); set.parse_traced(&mut e, &mut t); n += 1; } }
        let total = start.elapsed().as_secs_f64();
        println!("{file}: {:.2} us/line (incl clone)", total * 1e6 / n as f64);
        let mut v: Vec<_> = t.acc.into_iter().collect();
        v.sort_by(|a, b| b.1 .0.partial_cmp(&a.1 .0).unwrap());
        for (k, (s, c)) in v.iter().take(20) { println!("  {:8.3} us/line  {:6} calls  {k}", s * 1e6 / n as f64, c); }
    }
}

#[allow(dead_code)]
pub fn grok_times() {
    use palisade_ingest::grok::Grok;
    let hub = Path::new("/work/shared/conformance/hub/items");
    let mut grok = GrokLibrary::new();
    grok.load_dir(&hub.join("patterns-base")).unwrap();
    grok.load_dir(&hub.join("patterns")).unwrap();
    for (n, d) in [("NGCUSTOMUSER", r"[a-zA-Z0-9\.\@\-\+_%]+")] { grok.add(n, d).unwrap(); }
    let pats = [
        r#"(%{IPORHOST:target_fqdn}(:%{INT:port})? )?%{IPORHOST:remote_addr} - (%{NGCUSTOMUSER:remote_user} )?\[%{HTTPDATE:time_local}\] "%{WORD:verb} %{DATA:request} HTTP/%{NUMBER:http_version}" %{NUMBER:status} %{NUMBER:body_bytes_sent} "%{NOTDQUOTE:http_referer}" "%{NOTDQUOTE:http_user_agent}"( %{NUMBER:request_length} %{NUMBER:request_time} \[%{DATA:proxy_upstream_name}\] \[%{DATA:proxy_alternative_upstream_name}\])?"#,
        "^%{SYSLOGLINE}",
        r"^%{GREEDYDATA:request}\?%{GREEDYDATA:http_args}$",
        "%{IPORHOST:x}",
        "%{IP:x}",
        "%{HTTPDATE:x}",
    ];
    let text = std::fs::read_to_string("/work/main/samples/access.log").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let auth = std::fs::read_to_string("/work/main/samples/auth.log").unwrap();
    let alines: Vec<&str> = auth.lines().collect();
    for p in pats {
        let g = Grok::compile(&grok, p).unwrap();
        for (name, ls) in [("access", &lines), ("auth", &alines)] {
            let t = Instant::now();
            let mut m = 0;
            for _ in 0..3 { for l in ls.iter() { if g.captures(l).is_some() { m += 1; } } }
            let c = t.elapsed().as_secs_f64() * 1e6 / (3 * ls.len()) as f64;
            let t = Instant::now();
            for _ in 0..3 { for l in ls.iter() { if g.is_match(l) { m += 1; } } }
            let im = t.elapsed().as_secs_f64() * 1e6 / (3 * ls.len()) as f64;
            println!("{:>7.3} us captures {:>7.3} us is_match {name} {m} {}", c, im, &p[..p.len().min(40)]);
        }
    }
}
