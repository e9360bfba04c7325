//! `XMLGetNodeValue(xml, path)` and `XMLGetAttributeValue(xml, path, attr)` with the subset of
//! beevik/etree paths that Windows event parsers use: `/a/b/c`, relative `a/b`, `//name`
//! (anywhere below), `.`, `..`, `*`, and predicates `[@attr]`, `[@attr='v']`, `[n]`,
//! `[tag]`, `[tag='v']`, `[text()='v']`. Tags match by local name, ignoring namespaces (the
//! Windows `xmlns` default namespace). The node value is the element's leading text. Bad XML or
//! a bad path gives "". Parsed documents are kept in a small per-thread cache because parsers
//! query the same line many times.

use super::arg_str;
use crate::value::Value;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Debug)]
struct Elem {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<usize>,
    parent: Option<usize>,
}

/// An owned element tree; index 0 is the document node.
#[derive(Debug)]
struct Tree {
    elems: Vec<Elem>,
}

fn build(doc: &roxmltree::Document<'_>) -> Tree {
    let mut tree = Tree {
        elems: vec![Elem {
            name: String::new(),
            attrs: Vec::new(),
            text: String::new(),
            children: Vec::new(),
            parent: None,
        }],
    };
    fn walk(node: roxmltree::Node<'_, '_>, parent: usize, tree: &mut Tree) {
        for child in node.children().filter(|c| c.is_element()) {
            let idx = tree.elems.len();
            let text = child
                .first_child()
                .filter(|c| c.is_text())
                .and_then(|c| c.text())
                .unwrap_or("")
                .to_string();
            tree.elems.push(Elem {
                name: child.tag_name().name().to_string(),
                attrs: child
                    .attributes()
                    .map(|a| (a.name().to_string(), a.value().to_string()))
                    .collect(),
                text,
                children: Vec::new(),
                parent: Some(parent),
            });
            tree.elems[parent].children.push(idx);
            walk(child, idx, tree);
        }
    }
    walk(doc.root(), 0, &mut tree);
    tree
}

thread_local! {
    static CACHE: RefCell<Vec<(String, Rc<Tree>)>> = const { RefCell::new(Vec::new()) };
}

/// Deepest element nesting accepted. roxmltree (and `build`) recurse once per level, so a log
/// line of 100k nested tags would overflow the stack and abort the process; such a document
/// gives "" like any bad XML. Windows events nest 4 levels.
const MAX_DEPTH: usize = 256;

/// Whether elements nest deeper than `limit`, lexing as roxmltree does up to where it would
/// stop (comments, CDATA, processing instructions and quoted attribute values skipped), so that
/// the depth it would recurse to is never underestimated. A DTD is rejected by roxmltree's
/// default options anyway.
fn nests_deeper_than(xml: &str, limit: usize) -> bool {
    let b = xml.as_bytes();
    let find = |from: usize, pat: &str| xml.get(from..).and_then(|t| t.find(pat)).map(|i| from + i);
    let byte = |from: usize, c: u8| b[from..].iter().position(|x| *x == c).map(|i| from + i);
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(lt) = byte(i, b'<') {
        let rest = &b[lt..];
        let end = if rest.starts_with(b"<!--") {
            find(lt + 4, "-->").map(|e| e + 3)
        } else if rest.starts_with(b"<![CDATA[") {
            find(lt + 9, "]]>").map(|e| e + 3)
        } else if rest.starts_with(b"<?") {
            find(lt + 2, "?>").map(|e| e + 2)
        } else if rest.starts_with(b"</") || rest.starts_with(b"<!") {
            if rest.starts_with(b"</") {
                depth = depth.saturating_sub(1);
            }
            byte(lt, b'>').map(|e| e + 1)
        } else {
            // A start tag: to its `>` outside quotes; `/>` closes it at once.
            let mut quote = None;
            let mut j = lt + 1;
            let mut close = None;
            while j < b.len() {
                match (quote, b[j]) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, c @ (b'"' | b'\'')) => quote = Some(c),
                    (None, b'>') => {
                        close = Some(j);
                        break;
                    }
                    _ => {}
                }
                j += 1;
            }
            if close.is_none_or(|c| b[c - 1] != b'/') {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            close.map(|c| c + 1)
        };
        match end {
            Some(e) => i = e,
            None => break,
        }
    }
    false
}

fn parse(xml: &str) -> Option<Rc<Tree>> {
    let hit = CACHE.with(|c| {
        c.borrow()
            .iter()
            .find(|(k, _)| k == xml)
            .map(|(_, t)| t.clone())
    });
    if hit.is_some() {
        return hit;
    }
    if nests_deeper_than(xml, MAX_DEPTH) {
        return None;
    }
    let doc = roxmltree::Document::parse(xml).ok()?;
    let tree = Rc::new(build(&doc));
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= 4 {
            c.remove(0);
        }
        c.push((xml.to_string(), tree.clone()));
    });
    Some(tree)
}

#[derive(Debug, PartialEq)]
enum Pred {
    HasAttr(String),
    AttrEq(String, String),
    Position(i64),
    HasChild(String),
    ChildEq(String, String),
    TextEq(String),
}

#[derive(Debug, PartialEq)]
struct Step {
    descendant: bool,
    selector: String,
    preds: Vec<Pred>,
}

fn unquote(s: &str) -> Option<&str> {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('\'') && s.ends_with('\'')) || (s.starts_with('"') && s.ends_with('"')))
    {
        Some(&s[1..s.len() - 1])
    } else {
        None
    }
}

fn parse_pred(p: &str) -> Option<Pred> {
    let p = p.trim();
    if let Ok(n) = p.parse::<i64>() {
        return Some(Pred::Position(n));
    }
    if let Some(attr) = p.strip_prefix('@') {
        return Some(match attr.split_once('=') {
            Some((name, v)) => Pred::AttrEq(name.trim().to_string(), unquote(v)?.to_string()),
            None => Pred::HasAttr(attr.trim().to_string()),
        });
    }
    match p.split_once('=') {
        Some((lhs, v)) if lhs.trim() == "text()" => Some(Pred::TextEq(unquote(v)?.to_string())),
        Some((lhs, v)) => Some(Pred::ChildEq(
            lhs.trim().to_string(),
            unquote(v)?.to_string(),
        )),
        None if p == "text()" => Some(Pred::TextEq(String::new())).filter(|_| false),
        None if !p.is_empty() => Some(Pred::HasChild(p.to_string())),
        None => None,
    }
}

/// Splits a path into steps, minding brackets and quotes.
fn compile_path(path: &str) -> Option<(bool, Vec<Step>)> {
    let absolute = path.starts_with('/');
    let mut raw: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for c in path.chars() {
        match (c, quote) {
            (q, Some(open)) if q == open => {
                quote = None;
                cur.push(c);
            }
            (_, Some(_)) => cur.push(c),
            ('\'' | '"', None) if depth > 0 => {
                quote = Some(c);
                cur.push(c);
            }
            ('[', None) => {
                depth += 1;
                cur.push(c);
            }
            (']', None) => {
                depth -= 1;
                cur.push(c);
            }
            ('/', None) if depth == 0 => raw.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if depth != 0 || quote.is_some() {
        return None;
    }
    raw.push(cur);
    let mut steps = Vec::new();
    let mut descendant = false;
    for (i, seg) in raw.iter().enumerate() {
        if seg.is_empty() {
            if i > 0 || !absolute {
                descendant = true;
            }
            continue;
        }
        let (sel, rest) = match seg.find('[') {
            Some(b) => (&seg[..b], &seg[b..]),
            None => (seg.as_str(), ""),
        };
        let mut preds = Vec::new();
        let mut r = rest;
        while let Some(body) = r.strip_prefix('[') {
            let end = body.find(']')?;
            preds.push(parse_pred(&body[..end])?);
            r = &body[end + 1..];
        }
        if !r.is_empty() || sel.is_empty() {
            return None;
        }
        // ignore namespace prefixes (`ns:tag`), etree matches local names here
        let sel = sel.rsplit(':').next().unwrap_or(sel).to_string();
        steps.push(Step {
            descendant,
            selector: sel,
            preds,
        });
        descendant = false;
    }
    if descendant {
        return None;
    }
    Some((absolute, steps))
}

fn descendants(tree: &Tree, from: usize, out: &mut Vec<usize>) {
    for &c in &tree.elems[from].children {
        out.push(c);
        descendants(tree, c, out);
    }
}

fn matches_preds(tree: &Tree, e: usize, preds: &[Pred]) -> bool {
    let el = &tree.elems[e];
    preds.iter().all(|p| match p {
        Pred::HasAttr(a) => el.attrs.iter().any(|(k, _)| k == a),
        Pred::AttrEq(a, v) => el.attrs.iter().any(|(k, x)| k == a && x == v),
        Pred::HasChild(t) => el.children.iter().any(|&c| tree.elems[c].name == *t),
        Pred::ChildEq(t, v) => el
            .children
            .iter()
            .any(|&c| tree.elems[c].name == *t && tree.elems[c].text == *v),
        Pred::TextEq(v) => el.text == *v,
        Pred::Position(_) => true,
    })
}

fn find(tree: &Tree, absolute: bool, steps: &[Step]) -> Option<usize> {
    let _ = absolute; // on a document, relative and absolute paths both start at the document node
    let mut ctx = vec![0usize];
    for step in steps {
        let mut next = Vec::new();
        for &c in &ctx {
            let mut candidates = Vec::new();
            match step.selector.as_str() {
                "." => candidates.push(c),
                ".." => candidates.extend(tree.elems[c].parent),
                sel => {
                    let pool: Vec<usize> = if step.descendant {
                        let mut d = Vec::new();
                        descendants(tree, c, &mut d);
                        d
                    } else {
                        tree.elems[c].children.clone()
                    };
                    candidates.extend(
                        pool.into_iter()
                            .filter(|&e| sel == "*" || tree.elems[e].name == sel),
                    );
                }
            }
            let mut filtered: Vec<usize> = candidates
                .into_iter()
                .filter(|&e| e != 0 && matches_preds(tree, e, &step.preds))
                .collect();
            for p in &step.preds {
                if let Pred::Position(n) = p {
                    let len = filtered.len() as i64;
                    let idx = if *n > 0 { n - 1 } else { len + n };
                    filtered = if (0..len).contains(&idx) {
                        vec![filtered[idx as usize]]
                    } else {
                        Vec::new()
                    };
                }
            }
            for e in filtered {
                if !next.contains(&e) {
                    next.push(e);
                }
            }
        }
        ctx = next;
        if ctx.is_empty() {
            return None;
        }
    }
    ctx.into_iter().min()
}

fn lookup(xml: &str, path: &str) -> Option<(Rc<Tree>, usize)> {
    let (absolute, steps) = compile_path(path)?;
    let tree = parse(xml)?;
    let e = find(&tree, absolute, &steps)?;
    Some((tree, e))
}

pub(crate) fn get_node_value<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let xml = arg_str(args, 0)?;
    let path = arg_str(args, 1)?;
    Ok(Value::string(
        lookup(xml, path)
            .map(|(t, e)| t.elems[e].text.clone())
            .unwrap_or_default(),
    ))
}

pub(crate) fn get_attribute_value<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let xml = arg_str(args, 0)?;
    let path = arg_str(args, 1)?;
    let attr = arg_str(args, 2)?;
    Ok(Value::string(
        lookup(xml, path)
            .and_then(|(t, e)| {
                t.elems[e]
                    .attrs
                    .iter()
                    .find(|(k, _)| k == attr)
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVT: &str = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Security-Auditing" Guid="{5478}"/><EventID>4625</EventID><Channel>Security</Channel></System><EventData><Data Name="TargetUserName">admin</Data><Data Name="IpAddress">10.0.0.5</Data><Data Name="Empty"></Data></EventData></Event>"#;

    fn node(p: &str) -> String {
        lookup(EVT, p)
            .map(|(t, e)| t.elems[e].text.clone())
            .unwrap_or_default()
    }

    #[test]
    fn deep_nesting_is_bad_xml_not_a_stack_overflow() {
        let doc = |n: usize| format!("{}x{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(!nests_deeper_than(&doc(MAX_DEPTH), MAX_DEPTH));
        assert!(nests_deeper_than(&doc(MAX_DEPTH + 1), MAX_DEPTH));
        assert!(parse(&doc(MAX_DEPTH)).is_some());
        assert!(parse(&doc(200_000)).is_none());
        assert!(parse(&"<a>".repeat(200_000)).is_none());
        // Siblings, self-closing tags, comments, CDATA and quoted `>` do not nest.
        let flat = "<r>".to_string()
            + &"<b x='>'/><!-- <c> --><![CDATA[<d>]]><?p <e>?><f></f>".repeat(1000)
            + "</r>";
        assert!(!nests_deeper_than(&flat, 2));
        assert!(parse(&flat).is_some());
        // `</` inside a comment or an attribute does not hide depth.
        let hidden = "<a><!-- </a> --><a x='</a>'><a>";
        assert!(nests_deeper_than(hidden, 2));
    }

    #[test]
    fn windows_event_paths() {
        assert_eq!(node("/Event/System/EventID"), "4625");
        assert_eq!(node("Event/System/Channel"), "Security");
        assert_eq!(node("//EventID"), "4625");
        assert_eq!(node("/Event/EventData/Data[@Name='IpAddress']"), "10.0.0.5");
        assert_eq!(
            node("/Event/EventData/Data[@Name=\"TargetUserName\"]"),
            "admin"
        );
        assert_eq!(node("/Event/EventData/Data[2]"), "10.0.0.5");
        assert_eq!(node("/Event/EventData/Data[-1]"), "");
        assert_eq!(node("/Event/System[EventID='4625']/Channel"), "Security");
        assert_eq!(node("/Event/*/EventID"), "4625");
        assert_eq!(node("/Event/System/EventID/../Channel"), "Security");
        assert_eq!(node("/Event/Nope"), "");
        assert_eq!(node("/Event/EventData/Data[@Name='x"), "");
        let attr = lookup(EVT, "/Event/System/Provider").and_then(|(t, e)| {
            t.elems[e]
                .attrs
                .iter()
                .find(|(k, _)| k == "Name")
                .map(|(_, v)| v.clone())
        });
        assert_eq!(attr.as_deref(), Some("Microsoft-Windows-Security-Auditing"));
    }

    #[test]
    fn bad_xml_is_empty() {
        assert!(lookup("<a><b></a>", "/a/b").is_none());
        assert!(lookup("", "/a").is_none());
        assert!(lookup("<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "/x").is_none_or(|_| true));
    }
}
