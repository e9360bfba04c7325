use palisade_ingest::grok::{Grok, GrokLibrary};
use std::time::Instant;
fn main() {
    let hub = std::path::Path::new("/work/shared/conformance/hub/items");
    let mut lib = GrokLibrary::new();
    lib.load_dir(hub.join("patterns-base")).unwrap();
    lib.load_dir(hub.join("patterns")).unwrap();
    lib.add("IPORHOST4", "%{IPV4}|%{HOSTNAME}").unwrap();
    lib.add("DIR", "^.*/").unwrap();
    lib.add("FILE", "[^/].*?").unwrap();
    lib.add("EXT", r"\.[^.]*$|$").unwrap();
    lib.add("NGCUSTOMUSER", r"[a-zA-Z0-9\.\@\-\+_%]+").unwrap();
    let lines: Vec<String> = std::fs::read_to_string(
        std::env::var("LINES").unwrap_or("/work/main/samples/access.log".into()),
    )
    .unwrap()
    .lines()
    .map(String::from)
    .collect();
    let pats = std::env::args().skip(1).collect::<Vec<_>>();
    for p in pats {
        let g = Grok::compile(&lib, &p).unwrap();
        if std::env::var_os("DUMP").is_some() {
            dump(&g);
        }
        let mut n = 0;
        let t = Instant::now();
        for _ in 0..20 {
            for l in &lines {
                if g.captures(l).is_some() {
                    n += 1;
                }
            }
        }
        let dt = t.elapsed();
        println!(
            "{:8.0} ns/line  matched {}/{}  {}",
            dt.as_nanos() as f64 / (20 * lines.len()) as f64,
            n / 20,
            lines.len(),
            &p[..p.len().min(90)]
        );
    }
}
#[allow(dead_code)]
fn dump(g: &Grok) {
    let nfa = regex_automata::nfa::thompson::NFA::compiler()
        .syntax(regex_automata::util::syntax::Config::new().nest_limit(1000))
        .build(g.regex_source())
        .unwrap();
    eprintln!("{}\n{:?}", g.regex_source(), nfa);
}
