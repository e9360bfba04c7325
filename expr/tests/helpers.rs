//! Every helper: at least one success and one bad-input case, table-driven.
mod common;
use common::{check_table, compile, sample_event};

#[test]
fn string_helpers() {
    check_table(&[
        ("Upper('abc é')", "\"ABC É\""),
        ("Upper(evt.Parsed.method)", "\"GET\""),
        ("Upper('')", "\"\""),
        ("Lower('ABC')", "\"abc\""),
        ("Lower('ǅ')", "\"ǆ\""),
        ("upper('x')", "\"X\""),
        ("lower('X')", "\"x\""),
        ("Split('a,b,,c', ',')", "[\"a\", \"b\", \"\", \"c\"]"),
        ("Split('', ',')", "[\"\"]"),
        ("SplitN('a,b,c', ',', 2)", "[\"a\", \"b,c\"]"),
        ("SplitAfter('a,b', ',')", "[\"a,\", \"b\"]"),
        ("SplitAfterN('a,b,c', ',', 2)", "[\"a,\", \"b,c\"]"),
        ("split('a b', ' ')", "[\"a\", \"b\"]"),
        ("split('a b c', ' ', 2)", "[\"a\", \"b c\"]"),
        ("splitAfter('a b', ' ')", "[\"a \", \"b\"]"),
        ("Fields('  a \t b\n')", "[\"a\", \"b\"]"),
        ("Fields('')", "[]"),
        ("TrimSpace('  x y \n')", "\"x y\""),
        ("TrimSpace('')", "\"\""),
        ("basename('/var/log/nginx/access.log')", "\"access.log\""),
        ("basename('dir/')", "\"dir\""),
        ("basename('')", "\".\""),
        ("basename('/')", "\"/\""),
        ("TrimPrefix('foobar', 'foo')", "\"bar\""),
        ("TrimPrefix('foobar', 'bar')", "\"foobar\""),
        ("TrimSuffix('foobar', 'bar')", "\"foo\""),
        ("TrimSuffix('foobar', 'x')", "\"foobar\""),
        ("Trim('xxaxx', 'x')", "\"a\""),
        ("TrimLeft('xxaxx', 'x')", "\"axx\""),
        ("TrimRight('xxaxx', 'x')", "\"xxa\""),
        ("trim('  a  ')", "\"a\""),
        ("trim('__a__', '_')", "\"a\""),
        ("trimPrefix('  a')", "\" a\""),
        ("trimPrefix('/path', '/')", "\"path\""),
        ("trimSuffix('file.php', '.php')", "\"file\""),
        ("Replace('aaa', 'a', 'b', 2)", "\"bba\""),
        ("Replace('aaa', 'a', 'b', -1)", "\"bbb\""),
        ("Replace('ab', '', '-', -1)", "\"-a-b-\""),
        ("ReplaceAll('a.b.c', '.', '/')", "\"a/b/c\""),
        ("replace('a.b', '.', '')", "\"ab\""),
        ("Index('chicken', 'ken')", "4"),
        ("Index('chicken', 'dmr')", "-1"),
        ("indexOf('abcabc', 'c')", "2"),
        ("lastIndexOf('abcabc', 'c')", "5"),
        ("lastIndexOf('abc', 'z')", "-1"),
        ("IndexAny('golang', 'ny')", "4"),
        ("IndexAny('golang', 'xyz')", "-1"),
        ("Join(['a', 'b'], '-')", "\"a-b\""),
        ("Join(Split('a,b', ','), '|')", "\"a|b\""),
        (
            "Join([1, 2], '-')",
            "ERR: cannot use int as element of []string",
        ),
        ("join(['a', 'b'])", "\"ab\""),
        ("join(['a', 'b'], ', ')", "\"a, b\""),
        ("join([1], ',')", "ERR: invalid argument for join"),
        ("hasPrefix('abc', 'ab')", "true"),
        ("hasPrefix('abc', 'b')", "false"),
        ("hasSuffix('abc', 'bc')", "true"),
        ("hasSuffix('abc', 'x')", "false"),
        ("repeat('ab', 3)", "\"ababab\""),
        ("repeat('ab', -1)", "ERR: negative Repeat count"),
        ("repeat('ab', 100000000)", "ERR: too large"),
        ("Get(Split('a,b', ','), 1)", "\"b\""),
        ("Get(Split('a,b', ','), 5)", "\"\""),
        ("Get(Split('a,b', ','), -1)", "ERR: index out of range"),
        ("ToString('x')", "\"x\""),
        ("ToString(12)", "\"\""),
        ("Match('*.php', 'shell.php')", "true"),
        ("Match('?hell*', 'shell.php')", "true"),
        ("Match('*.asp', 'shell.php')", "false"),
        ("Match('', '')", "true"),
        ("KeyExists('k8s', evt.Unmarshaled)", "true"),
        ("KeyExists('nope', evt.Unmarshaled)", "false"),
        ("KeyExists('nope', evt.Unmarshaled.nope)", "false"),
        ("Atof('1.5')", "1.5"),
        ("Atof('abc')", "0.0"),
        ("Atof('')", "0.0"),
        ("B64Decode('aGVsbG8=')", "\"hello\""),
        ("B64Decode('not base64!')", "ERR: illegal base64 data"),
        ("toBase64('hello')", "\"aGVsbG8=\""),
        ("fromBase64('aGVsbG8=')", "\"hello\""),
        ("fromBase64('@@')", "ERR: illegal base64"),
        ("FloatApproxEqual(1.0, 1.0000001)", "true"),
        ("FloatApproxEqual(1.0, 1.1)", "false"),
        ("LogInfo('x %s', 'y')", "true"),
        (
            "Distance('48.8566', '2.3522', '51.5074', '-0.1278') > 340",
            "true",
        ),
        (
            "Distance('48.8566', '2.3522', '51.5074', '-0.1278') < 345",
            "true",
        ),
        ("Distance('0', '0', '51.5', '-0.12')", "0.0"),
        (
            "Distance('x', '2.3522', '51.5074', '-0.1278')",
            "ERR: lat1 is not a float",
        ),
        ("len(Hostname()) > 0", "true"),
    ]);
}

#[test]
fn sprintf_and_conversions() {
    check_table(&[
        ("Sprintf('%dh', (2 + 1) * 4)", "\"12h\""),
        ("Sprintf('%s:%d', 'a', 1)", "\"a:1\""),
        ("Sprintf('%v %v %v', nil, true, 1.5)", "\"<nil> true 1.5\""),
        ("Sprintf('%q', 'x')", "\"\\\"x\\\"\""),
        ("Sprintf('%.1f', 2.25)", "\"2.2\""),
        ("Sprintf('%d', 'x')", "\"%!d(string=x)\""),
        ("Sprintf('%s')", "\"%!s(MISSING)\""),
        ("Sprintf('no verbs', 1)", "\"no verbs%!(EXTRA int=1)\""),
        ("int('42')", "42"),
        ("int('-3')", "-3"),
        ("int(3.9)", "3"),
        ("int('4.5')", "ERR: invalid operation: int(4.5)"),
        ("int(' 4')", "ERR: invalid operation: int( 4)"),
        ("int(evt.Meta.http_status) >= 400", "true"),
        (
            "int(evt.Unmarshaled.nope)",
            "ERR: invalid operation: int(<nil>)",
        ),
        ("float('1.25')", "1.25"),
        ("float(2)", "2.0"),
        ("float('x')", "ERR: invalid operation: float(x)"),
        ("string(12)", "\"12\""),
        ("string(1.5)", "\"1.5\""),
        ("string(1e21)", "\"1e+21\""),
        ("string(nil)", "\"<nil>\""),
        ("string([1, 'a'])", "\"[1 a]\""),
        ("string({b: 1, a: 'x'})", "\"map[a:x b:1]\""),
        ("string(evt.Unmarshaled.k8s.code)", "\"201\""),
        ("string(duration('90s'))", "\"1m30s\""),
        ("len('héllo')", "6"),
        ("len([1, 2])", "2"),
        ("len(evt.Meta)", "5"),
        ("len(evt.Unmarshaled.nope)", "ERR: invalid argument for len"),
        ("abs(-3)", "3"),
        ("abs(-2.5)", "2.5"),
        ("abs('x')", "ERR: invalid argument for abs"),
        ("ceil(1.2)", "2.0"),
        ("floor(1.8)", "1.0"),
        ("round(1.5)", "2.0"),
        ("ceil('x')", "ERR: invalid argument for ceil"),
        ("max(1, 5, 3)", "5"),
        ("max([1, 2.5])", "2.5"),
        ("max()", "ERR: not enough arguments"),
        ("max('a', 'b')", "ERR: invalid argument for max"),
        ("min(4, 2, 8)", "2"),
        ("min([3, -1])", "-1"),
        ("mean([1, 2, 3, 4])", "2.5"),
        ("median([3, 1, 2])", "2.0"),
        ("type(1)", "\"int\""),
        ("type('a')", "\"string\""),
        ("type(nil)", "\"nil\""),
        ("type(evt.Unmarshaled.k8s)", "\"map\""),
    ]);
}

#[test]
fn collection_builtins() {
    check_table(&[
        ("get({a: 1}, 'a')", "1"),
        ("get({a: 1}, 'b')", "nil"),
        ("get(evt.Meta, 'service')", "\"http\""),
        ("get(evt.Meta, 'nope')", "nil"),
        ("get([1, 2], 5)", "nil"),
        ("get([1, 2], -1)", "2"),
        ("get(nil, 'x')", "nil"),
        ("get(1, 'x')", "ERR: cannot fetch"),
        ("first([3, 4])", "3"),
        ("first([])", "nil"),
        ("last([3, 4])", "4"),
        ("last('x')", "ERR: cannot get last element"),
        ("take([1, 2, 3], 2)", "[1, 2]"),
        ("take([1], 5)", "[1]"),
        ("keys({b: 1, a: 2})", "[\"a\", \"b\"]"),
        ("values({b: 1, a: 2})", "[2, 1]"),
        ("keys([1])", "ERR: cannot get keys"),
        ("concat([1], [2, 3])", "[1, 2, 3]"),
        ("flatten([1, [2, [3]]])", "[1, 2, 3]"),
        ("uniq([1, 1, 2, 1])", "[1, 2]"),
        ("reverse([1, 2, 3])", "[3, 2, 1]"),
        ("sort([3, 1, 2])", "[1, 2, 3]"),
        ("sort(['b', 'a'], 'desc')", "[\"b\", \"a\"]"),
        ("sort([1, 'a'])", "ERR: cannot compare"),
        ("Flatten([1, [2]], 3)", "[1, 2, 3]"),
        ("Distinct([1, 2, 1])", "[1, 2]"),
        ("Distinct('x')", "nil"),
        ("FlattenDistinct([1, [1, 2]], 2)", "[1, 2]"),
        (
            "toJSON({a: [1, 'x<'], b: nil})",
            "\"{\\\"a\\\":[1,\\\"x\\\\u003c\\\"],\\\"b\\\":null}\"",
        ),
        ("toJSON(evt.Unmarshaled.k8s.code)", "\"201\""),
        ("fromJSON('{\"a\": [1, true]}')", "{\"a\": [1.0, true]}"),
        ("fromJSON('{bad')", "ERR: "),
        ("ToJsonString(['a', 1])", "\"[\\\"a\\\",1]\""),
        ("ToJsonString(1.0 / 0)", "\"\""),
    ]);
}

#[test]
fn json_helpers() {
    check_table(&[
        ("JsonExtract(evt.Line.Raw, 'request.method')", "\"GET\""),
        ("JsonExtract(evt.Line.Raw, 'status')", "\"404\""),
        ("JsonExtract(evt.Line.Raw, 'tags[1]')", "\"b\""),
        (
            "JsonExtract(evt.Line.Raw, 'tags')",
            "\"[\\\"a\\\",\\\"b\\\"]\"",
        ),
        ("JsonExtract(evt.Line.Raw, 'nope.x')", "\"\""),
        ("JsonExtract('{not json', 'a')", "\"\""),
        ("JsonExtract('{\"a\":\"x\\\\\"y\"}', 'a')", "\"x\\\\\\\"y\""),
        (
            "JsonExtractUnescape('{\"a\":\"x\\\\\"y\"}', 'a')",
            "\"x\\\"y\"",
        ),
        (
            "JsonExtractUnescape(evt.Line.Raw, 'request', 'uri')",
            "\"/admin?x=1\"",
        ),
        ("JsonExtractUnescape(evt.Line.Raw, 'status')", "\"\""),
        ("JsonExtractUnescape('garbage', 'a')", "\"\""),
        (
            "JsonExtractLib(evt.Line.Raw, 'request', 'method')",
            "\"GET\"",
        ),
        ("JsonExtractLib(evt.Line.Raw, 'nope')", "\"\""),
        ("JsonExtractSlice(evt.Line.Raw, 'tags')", "[\"a\", \"b\"]"),
        ("JsonExtractSlice(evt.Line.Raw, 'status')", "nil"),
        ("JsonExtractSlice('[[[', 'a')", "nil"),
        (
            "JsonExtractObject(evt.Line.Raw, 'request').method",
            "\"GET\"",
        ),
        ("JsonExtractObject(evt.Line.Raw, 'tags')", "nil"),
        ("JsonExtractObject('', 'a')", "nil"),
    ]);
}

#[test]
fn ip_helpers() {
    check_table(&[
        ("IpInRange('192.168.1.10', '192.168.0.0/16')", "true"),
        ("IpInRange('10.0.0.1', '192.168.0.0/16')", "false"),
        ("IpInRange('2001:db8::1', '2001:db8::/32')", "true"),
        ("IpInRange('::ffff:192.168.1.1', '192.168.0.0/16')", "true"),
        ("IpInRange('not an ip', '192.168.0.0/16')", "false"),
        ("IpInRange('192.168.1.10', 'not a range')", "false"),
        ("IpInRange('192.168.1.10', '192.168.0.0/33')", "false"),
        ("IpToRange('192.168.1.10', '/24')", "\"192.168.1.0/24\""),
        ("IpToRange('192.168.1.10', '16')", "\"192.168.0.0/16\""),
        (
            "IpToRange('2001:db8:1:2:3:4:5:6', '/64')",
            "\"2001:db8:1:2::/64\"",
        ),
        ("IpToRange('x', '/24')", "\"\""),
        ("IpToRange('1.2.3.4', '/40')", "\"\""),
        ("IpToRange('1.2.3.4', 'abc')", "\"\""),
        ("IsIP('1.2.3.4')", "true"),
        ("IsIP('::1')", "true"),
        ("IsIP('1.2.3')", "false"),
        ("IsIPV4('1.2.3.4')", "true"),
        ("IsIPV4('::1')", "false"),
        ("IsIPV4('::ffff:1.2.3.4')", "true"),
        ("IsIPV4('x')", "false"),
        ("IsIPV6('::1')", "true"),
        ("IsIPV6('1.2.3.4')", "false"),
        ("IsIPV6('')", "false"),
    ]);
}

/// `IpInRange` with a literal CIDR (parsed once, at load time) gives what it gives with the
/// CIDR computed at run time (parsed on every call), errors included.
#[test]
fn ip_in_range_with_a_literal_cidr_is_the_helper() {
    let ips = [
        "192.168.1.10",
        "10.1.2.3",
        "::ffff:10.0.0.1",
        "fd00::1",
        "::1",
        "x",
        "",
    ];
    let cidrs = [
        "10.0.0.0/8",
        "192.168.0.0/16",
        "fc00::/7",
        "::1/128",
        "0.0.0.0/0",
        "10.0.0.0/33",
        "10.0.0.0",
        "",
    ];
    for ip in ips {
        for cidr in cidrs {
            let literal = common::run(&format!("IpInRange('{ip}', '{cidr}')"));
            let computed = common::run(&format!("let c = '{cidr}' + ''; IpInRange('{ip}', c)"));
            assert_eq!(literal, computed, "{ip} in {cidr}");
        }
    }
    check_table(&[
        ("IpInRange(evt.Meta.source_ip, '192.168.1.0/24')", "true"),
        ("IpInRange(evt.Meta.nope, '1.2.3.0/24')", "false"),
    ]);
    // A subject of no static type that is not a string at run time: the same error.
    let literal = common::run("IpInRange(evt.Unmarshaled.nope, '10.0.0.0/8')");
    let computed = common::run("let c = '10.0.0.0/8' + ''; IpInRange(evt.Unmarshaled.nope, c)");
    assert!(literal.starts_with("ERR:"), "{literal}");
    assert_eq!(literal, computed);
}

#[test]
fn url_helpers() {
    check_table(&[
        ("PathUnescape('/a%20b%2F')", "\"/a b/\""),
        ("PathUnescape('/a+b')", "\"/a+b\""),
        ("PathUnescape('%zz')", "\"%zz\""),
        ("QueryUnescape('a+b%3D')", "\"a b=\""),
        ("QueryUnescape('%')", "\"%\""),
        ("PathEscape('a b/c')", "\"a%20b%2Fc\""),
        ("QueryEscape('a b&c')", "\"a+b%26c\""),
        (
            "ParseUri('/p?a=1&a=2&b=x%20y')",
            "{\"a\": [\"1\", \"2\"], \"b\": [\"x y\"]}",
        ),
        ("ParseUri('/p?a=%zz')", "{}"),
        ("ParseUri('/nothing')", "{}"),
        (
            "ParseQuery('a=1&b=%zz')",
            "{\"a\": [\"1\"], \"b\": [\"%zz\"]}",
        ),
        ("ParseQuery('')", "{}"),
        ("ExtractQueryParam('/x?id=1&id=2', 'id')", "[\"1\", \"2\"]"),
        ("ExtractQueryParam('/x?id=1', 'nope')", "[]"),
        ("ExtractQueryParam('/x', 'id')", "[]"),
    ]);
}

#[test]
fn time_helpers() {
    check_table(&[
        ("evt.Time.Hour()", "13"),
        ("evt.Time.Minute()", "14"),
        ("evt.Time.Weekday().String()", "\"Wednesday\""),
        ("evt.Time.Weekday() == 3", "true"),
        ("evt.Time.Unix()", "1772630055"),
        ("evt.Time.Year()", "2026"),
        ("evt.Time.Month()", "3"),
        ("evt.Time.Format('2006-01-02')", "\"2026-03-04\""),
        ("evt.Time.String()", "\"2026-03-04 13:14:15 +0000 UTC\""),
        ("evt.Time.Add(duration('1h')).Hour()", "14"),
        ("evt.Time.Sub(evt.Time.Add(duration('-90s'))).Seconds()", "90.0"),
        ("evt.Time.Before(now())", "true"),
        ("evt.Time + duration('1m') > evt.Time", "true"),
        ("(evt.Time - evt.Time.Add(duration('-1h'))) == duration('1h')", "true"),
        ("evt.Line.Time.IsZero()", "true"),
        ("duration('1h30m').Minutes()", "90.0"),
        ("duration('1h30m').String()", "\"1h30m0s\""),
        ("duration('10m')", "duration(600000000000ns)"),
        ("duration('10 minutes')", "ERR: invalid duration"),
        ("duration('2') ", "ERR: invalid duration"),
        ("date('2026-01-02').Year()", "2026"),
        ("date('2026-01-02T03:04:05Z').Hour()", "3"),
        ("date('02/01/2026', '02/01/2006').Month()", "1"),
        ("date('garbage')", "ERR: invalid date"),
        ("date('x', '2006')", "ERR: cannot parse"),
        ("now().Year() >= 2025", "true"),
        ("len(TimeNow()) == 20", "true"),
        ("ParseUnix('1700000000.5')", "\"2023-11-14T22:13:20Z\""),
        ("ParseUnix('nope')", "\"\""),
        ("ParseUnix('-5')", "\"\""),
        ("MedianInterval([evt.Time, evt.Time.Add(duration('10s')), evt.Time.Add(duration('30s'))])", "duration(15000000000ns)"),
        ("MedianInterval([evt.Time])", "ERR: need at least two times"),
        ("MedianInterval([1, 2])", "ERR: not a time.Time"),
        ("AverageInterval([evt.Time, evt.Time.Add(duration('10s')), evt.Time.Add(duration('30s'))])", "duration(15000000000ns)"),
        ("AverageInterval([])", "ERR: need at least two times"),
    ]);
}

#[test]
fn file_helpers() {
    check_table(&[
        (
            "File('backdoors.txt')",
            "[\"shell.php\", \"wp-login.php\", \"c99.php\"]",
        ),
        ("File('missing.txt')", "[]"),
        ("let f = 'backdoors.txt'; len(File(f))", "3"),
        ("len(File('miss' + 'ing'))", "0"),
        ("'wp-login.php' in File('backdoors.txt')", "true"),
        (
            "RegexpInFile(evt.Parsed.http_user_agent, 'bad_user_agents.regex.txt')",
            "true",
        ),
        (
            "RegexpInFile('curl/8.0', 'bad_user_agents.regex.txt')",
            "false",
        ),
        ("RegexpInFile('sqlmap', 'missing.regex')", "false"),
        (
            "let f = 'bad_user_agents.regex.txt'; RegexpInFile('nikto scan', f)",
            "true",
        ),
    ]);
}

#[test]
fn xml_helpers() {
    let xml = r#"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4625</EventID></System><EventData><Data Name='TargetUserName'>admin</Data><Data Name='IpAddress'>10.1.2.3</Data></EventData></Event>"#;
    let mut e = sample_event();
    e.line.raw = xml.to_string();
    let cases = [
        (
            "XMLGetNodeValue(evt.Line.Raw, '/Event/System/EventID')",
            "\"4625\"",
        ),
        (
            "XMLGetNodeValue(evt.Line.Raw, \"/Event/EventData/Data[@Name='IpAddress']\")",
            "\"10.1.2.3\"",
        ),
        ("XMLGetNodeValue(evt.Line.Raw, '//EventID')", "\"4625\""),
        ("XMLGetNodeValue(evt.Line.Raw, '/Event/Nope')", "\"\""),
        ("XMLGetNodeValue(evt.Line.Raw, '/Event/[')", "\"\""),
        ("XMLGetNodeValue('<broken', '/a')", "\"\""),
        (
            "XMLGetAttributeValue(evt.Line.Raw, '/Event/System/Provider', 'Name')",
            "\"Microsoft-Windows-Security-Auditing\"",
        ),
        (
            "XMLGetAttributeValue(evt.Line.Raw, '/Event/System/Provider', 'Nope')",
            "\"\"",
        ),
        ("XMLGetAttributeValue('', '/a', 'b')", "\"\""),
    ];
    for (src, want) in cases {
        assert_eq!(common::run_on(src, &mut e), want, "{src}");
    }
}

#[test]
fn stash_helpers() {
    let stash = std::sync::Arc::new(palisade_expr::Stash::new());
    stash.configure("ips", 10, std::time::Duration::from_secs(60));
    let ctx = palisade_expr::Context::event().with_stash(stash.clone());
    let mut e = sample_event();
    let set =
        palisade_expr::Program::compile("SetInStash('ips', evt.Meta.source_ip, 'seen', nil)", &ctx)
            .unwrap();
    assert_eq!(format!("{:?}", set.eval(&mut e).unwrap()), "nil");
    let get =
        palisade_expr::Program::compile("GetFromStash('ips', evt.Meta.source_ip)", &ctx).unwrap();
    assert_eq!(format!("{:?}", get.eval(&mut e).unwrap()), "\"seen\"");
    let miss = palisade_expr::Program::compile(
        "GetFromStash('nope', 'x') + GetFromStash('ips', 'x')",
        &ctx,
    )
    .unwrap();
    assert_eq!(format!("{:?}", miss.eval(&mut e).unwrap()), "\"\"");
    let ttl = palisade_expr::Program::compile("SetInStash('ips', 'k', 'v', duration('1h'))", &ctx)
        .unwrap();
    ttl.eval(&mut e).unwrap();
    assert_eq!(stash.get("ips", "k"), "v");
    let bad = palisade_expr::Program::compile(
        "SetInStash('ips', 'k', 'v', evt.Unmarshaled.k8s.code)",
        &ctx,
    )
    .unwrap();
    assert!(bad.eval(&mut e).is_err());
}

#[test]
fn file_registry_is_a_snapshot_per_program() {
    let p = compile("len(File('backdoors.txt'))");
    let mut e = sample_event();
    assert_eq!(format!("{:?}", p.eval(&mut e).unwrap()), "3");
}

/// `IpInRange(x, 'a') || IpInRange(x, 'b') || ...` over one field, which is evaluated as one
/// node (the field read and parsed once), gives what the same chain gives with the ranges
/// computed at run time (each call on its own), for addresses in each range, in none, of the
/// other family, and not addresses at all; and next to other operands of the chain.
#[test]
fn a_chain_of_ip_in_range_over_one_field_is_the_helper_each_time() {
    let chains = [
        // The hub's geoip-enrich filter, IPv4 then IPv6 ranges.
        (
            "not (IpInRange(evt.Meta.source_ip, '127.0.0.0/8') || IpInRange(evt.Meta.source_ip, '192.168.0.0/16') || IpInRange(evt.Meta.source_ip, '172.16.0.0/12') || IpInRange(evt.Meta.source_ip, '10.0.0.0/8'))",
            "not (IpInRange(evt.Meta.source_ip, a) || IpInRange(evt.Meta.source_ip, b) || IpInRange(evt.Meta.source_ip, c) || IpInRange(evt.Meta.source_ip, d))",
            ["127.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12", "10.0.0.0/8"],
        ),
        (
            "IpInRange(evt.Meta.source_ip, '::1/128') || IpInRange(evt.Meta.source_ip, 'bad') || IpInRange(evt.Meta.source_ip, 'fc00::/7') || evt.Meta.source_ip == 'x'",
            "IpInRange(evt.Meta.source_ip, a) || IpInRange(evt.Meta.source_ip, b) || IpInRange(evt.Meta.source_ip, c) || evt.Meta.source_ip == 'x'",
            ["::1/128", "bad", "fc00::/7", ""],
        ),
        // Not next to each other, or over two fields: evaluated one by one either way.
        (
            "IpInRange(evt.Meta.source_ip, '10.0.0.0/8') || false || IpInRange(evt.Meta.source_ip, '192.168.0.0/16') || IpInRange(evt.Meta.other, '10.0.0.0/8')",
            "IpInRange(evt.Meta.source_ip, a) || false || IpInRange(evt.Meta.source_ip, b) || IpInRange(evt.Meta.other, c)",
            ["10.0.0.0/8", "192.168.0.0/16", "10.0.0.0/8", ""],
        ),
    ];
    let addresses = [
        "10.1.2.3",
        "192.168.1.1",
        "172.20.0.1",
        "127.0.0.1",
        "8.8.8.8",
        "::1",
        "fd00::1",
        "2001:db8::1",
        "::ffff:10.0.0.1",
        "x",
        "",
    ];
    let mut seen_true = 0;
    for (fused, computed, [a, b, c, d]) in chains {
        let computed = format!(
            "let a = '{a}' + ''; let b = '{b}' + ''; let c = '{c}' + ''; let d = '{d}' + ''; {computed}"
        );
        for ip in addresses {
            let mut e = common::sample_event();
            e.meta.insert("source_ip".into(), ip.into());
            e.meta.insert("other".into(), "10.9.9.9".into());
            let want = common::run_on(&computed, &mut e.clone());
            assert_eq!(common::run_on(fused, &mut e), want, "{fused} on {ip}");
            seen_true += usize::from(want == "true");
        }
    }
    assert!(seen_true > 5, "the chains are true for some addresses");
}
