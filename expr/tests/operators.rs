//! Every operator and literal form, table-driven: (expression, expected Debug form).
mod common;
use common::check_table;

#[test]
fn literals() {
    check_table(&[
        ("nil", "nil"),
        ("true", "true"),
        ("false", "false"),
        ("42", "42"),
        ("-7", "-7"),
        ("0x1f", "31"),
        ("1_000", "1000"),
        ("1.5", "1.5"),
        ("1e3", "1000.0"),
        ("'single'", "\"single\""),
        ("\"double\"", "\"double\""),
        (r#"'it\'s'"#, "\"it's\""),
        (r#""tab\tnl\n""#, "\"tab\\tnl\\n\""),
        (r#"'\x41\u00e9'"#, "\"Aé\""),
        ("`raw \\d`", "\"raw \\\\d\""),
        ("[1, 'a', nil]", "[1, \"a\", nil]"),
        ("[]", "[]"),
        ("{a: 1, 'b-c': 'x'}", "{\"a\": 1, \"b-c\": \"x\"}"),
        ("{Jan: '01', Feb: '02'}['Feb']", "\"02\""),
        ("{}", "{}"),
    ]);
}

#[test]
fn arithmetic() {
    check_table(&[
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("7 / 2", "3.5"),
        ("6 / 3", "2.0"),
        ("7 % 3", "1"),
        ("-7 % 3", "-1"),
        ("7 % 0", "ERR: integer divide by zero"),
        ("1 / 0", "inf"),
        ("2 ** 10", "1024.0"),
        ("2 ^ 3", "8.0"),
        ("1 + 1.5", "2.5"),
        ("10 - 2.5", "7.5"),
        ("3 * 1.5", "4.5"),
        ("-(3)", "-3"),
        ("+3", "3"),
        ("- -3", "3"),
        ("9223372036854775807 + 1", "-9223372036854775808"),
        ("'a' + 'b' + 'c'", "\"abc\""),
        (
            "evt.Meta.source_ip + '/' + evt.Parsed.target_fqdn",
            "\"192.168.1.10/example.com\"",
        ),
        ("1..3", "[1, 2, 3]"),
        ("len(5..1)", "0"),
    ]);
}

#[test]
fn comparisons() {
    check_table(&[
        ("1 == 1", "true"),
        ("1 == 1.0", "true"),
        ("1 != 2", "true"),
        ("'a' == 'a'", "true"),
        ("'a' != 'b'", "true"),
        ("nil == nil", "true"),
        ("evt.Unmarshaled.nope == nil", "true"),
        ("evt.Unmarshaled.k8s.code == 201", "true"),
        ("1 < 2", "true"),
        ("2 > 1.5", "true"),
        ("2 <= 2", "true"),
        ("3 >= 4", "false"),
        ("'abc' < 'abd'", "true"),
        ("'b' > 'a'", "true"),
        ("[1, 2] == [1, 2]", "true"),
        ("{a: 1} == {a: 1}", "true"),
        ("duration('1m') > duration('30s')", "true"),
        ("duration('1h') == duration('60m')", "true"),
        ("evt.Time < now()", "true"),
        (
            "evt.Unmarshaled.k8s.Verb < 1",
            "ERR: mismatched types string and int",
        ),
    ]);
}

#[test]
fn logic() {
    check_table(&[
        ("true && false", "false"),
        ("true and true", "true"),
        ("false || true", "true"),
        ("false or false", "false"),
        ("not true", "false"),
        ("!false", "true"),
        ("not (1 == 2)", "true"),
        ("true || evt.Unmarshaled.nope.x", "true"),
        ("false && evt.Unmarshaled.nope.x", "false"),
        ("evt.Unmarshaled.nope && true", "ERR: non-bool"),
        ("true && false || true", "true"),
        ("!!true", "true"),
    ]);
}

#[test]
fn string_operators() {
    check_table(&[
        ("'hello world' contains 'o w'", "true"),
        ("'hello' contains 'x'", "false"),
        ("not ('hello' contains 'x')", "true"),
        ("'hello' not contains 'x'", "true"),
        ("'hello' startsWith 'he'", "true"),
        ("'hello' not startsWith 'he'", "false"),
        ("'hello' endsWith 'lo'", "true"),
        ("'hello' not endsWith 'lo'", "false"),
        ("'GET /x' matches '^(GET|POST) '", "true"),
        ("'abc' matches 'B'", "false"),
        ("'abc' matches '(?i)B'", "true"),
        ("'abc' not matches 'z'", "true"),
        ("'123' matches '^\\\\d+$'", "true"),
        ("'x' matches Upper('^x$')", "false"),
        ("'X' matches Upper('^x$')", "true"),
        ("'a' matches evt.Parsed.nope", "true"),
        (
            "'a' matches evt.Meta.log_type + '('",
            "ERR: error parsing regexp",
        ),
        (
            "evt.Unmarshaled.nope contains 'a'",
            "ERR: mismatched types <nil> and string",
        ),
    ]);
}

#[test]
fn membership() {
    check_table(&[
        ("'GET' in ['GET', 'HEAD']", "true"),
        ("'PUT' in ['GET', 'HEAD']", "false"),
        ("'PUT' not in ['GET', 'HEAD']", "true"),
        ("1 in [1, 2]", "true"),
        ("1.0 in [1, 2]", "true"),
        ("'1' in [1, 2]", "false"),
        ("nil in ['', nil]", "true"),
        ("'' in ['', nil]", "true"),
        ("'source_ip' in evt.Meta", "true"),
        ("'nope' in evt.Meta", "false"),
        ("'nope' not in evt.Meta", "true"),
        ("'k8s' in evt.Unmarshaled", "true"),
        ("'a' in {a: 1}", "true"),
        ("'a' in nil", "false"),
        ("'a' in evt.Unmarshaled.nope", "false"),
        ("'b' in evt.Unmarshaled.k8s.list", "false"),
        ("2 in evt.Unmarshaled.k8s.list", "true"),
        ("'a' in split('a,b', ',')", "true"),
    ]);
}

#[test]
fn ternary_coalesce_optional() {
    check_table(&[
        ("1 < 2 ? 'yes' : 'no'", "\"yes\""),
        ("1 > 2 ? 'yes' : 'no'", "\"no\""),
        ("true ? 1 : false ? 2 : 3", "1"),
        ("evt.Meta.nope ?: 'x'", "\"\""),
        ("evt.Unmarshaled.nope ?: 'x'", "\"x\""),
        ("evt.Unmarshaled.nope ?? 'd'", "\"d\""),
        ("evt.Meta.service ?? 'd'", "\"http\""),
        ("nil ?? nil ?? 3", "3"),
        ("evt.Unmarshaled.nope?.x", "nil"),
        ("evt.Unmarshaled.nope?.x.y.z", "nil"),
        ("evt.Unmarshaled.nope?.x ?? 'def'", "\"def\""),
        (
            "evt.Unmarshaled.k8s?.ObjectRef?.Namespace",
            "\"kube-system\"",
        ),
        ("evt.Unmarshaled.k8s.nope?.Namespace", "nil"),
        ("evt.Unmarshaled.nope?.['x']", "nil"),
        ("evt.Unmarshaled.nope.x", "ERR: cannot fetch x from <nil>"),
        (
            "evt.Unmarshaled.nope.x ?? 'd'",
            "ERR: cannot fetch x from <nil>",
        ),
        ("evt.Unmarshaled.k8s.code ? 2 : 3", "ERR: non-bool"),
    ]);
}

#[test]
fn indexing_and_slicing() {
    check_table(&[
        ("[1, 2, 3][0]", "1"),
        ("[1, 2, 3][-1]", "3"),
        ("[1, 2, 3][3]", "ERR: index out of range"),
        ("[1, 2, 3][-4]", "ERR: index out of range"),
        ("[1, 2, 3, 4][1:3]", "[2, 3]"),
        ("[1, 2, 3, 4][-2:]", "[3, 4]"),
        ("[1, 2, 3, 4][:2]", "[1, 2]"),
        ("[1, 2, 3, 4][:]", "[1, 2, 3, 4]"),
        ("[1, 2, 3][5:9]", "[]"),
        ("[1, 2, 3][2:1]", "[]"),
        ("'hello'[1:3]", "\"el\""),
        ("'hello'[-3:]", "\"llo\""),
        ("'hello'[:100]", "\"hello\""),
        ("'hello'[0]", "104"),
        ("'héllo'[1:2]", "\"\u{fffd}\""),
        ("evt.Parsed.request[0:1] == '/'", "true"),
        ("evt.Meta['source_ip']", "\"192.168.1.10\""),
        ("evt.Meta['no-such-key']", "\"\""),
        ("evt.Line.Labels.type", "\"nginx\""),
        ("evt.Line.Labels['type']", "\"nginx\""),
        ("evt.Unmarshaled['k8s']['Verb']", "\"create\""),
        ("evt.Unmarshaled.k8s.list[1]", "2.0"),
        ("evt.Unmarshaled.k8s.list[-1:]", "[3.0]"),
        ("let k = 'service'; evt.Meta[k]", "\"http\""),
        ("evt['Meta']['service']", "\"http\""),
        ("{a: {b: [10, 20]}}.a.b[1]", "20"),
    ]);
}

#[test]
fn let_if_sequences() {
    check_table(&[
        ("let x = 2; x * 3", "6"),
        ("let x = 2; let y = x + 1; x * y", "6"),
        (
            "let s = evt.Meta.service; s == 'http' ? Upper(s) : s",
            "\"HTTP\"",
        ),
        ("let x = 1; (let x = 2; x) + x", "3"),
        ("if 1 < 2 { 'a' } else { 'b' }", "\"a\""),
        (
            "if false { 'a' } else if true { 'b' } else { 'c' }",
            "\"b\"",
        ),
        ("if (evt.Meta.service == 'ssh') { 1 } else { 2 }", "2"),
        ("1; 2; 3", "3"),
    ]);
}

#[test]
fn closures() {
    check_table(&[
        ("all([1, 2, 3], # > 0)", "true"),
        ("all([1, 2, 3], {# > 1})", "false"),
        ("all([], {# > 1})", "true"),
        ("any([1, 2, 3], {# == 2})", "true"),
        ("any([], {# == 2})", "false"),
        ("none([1, 2, 3], {# > 5})", "true"),
        ("one([1, 2, 3], {# > 2})", "true"),
        ("one([1, 2, 3], {# > 1})", "false"),
        ("filter([1, 2, 3, 4], {# % 2 == 0})", "[2, 4]"),
        ("map([1, 2, 3], {# * 10})", "[10, 20, 30]"),
        ("map(['a', 'b'], {#index})", "[0, 1]"),
        ("count([1, 2, 3], {# >= 2})", "2"),
        ("sum([1, 2, 3])", "6"),
        ("sum([1, 2.5])", "3.5"),
        ("sum([1, 2, 3], {# * 2})", "12"),
        ("find([1, 2, 3], {# > 1})", "2"),
        ("findIndex([1, 2, 3], {# > 1})", "1"),
        ("findLast([1, 2, 3], {# > 1})", "3"),
        ("findLastIndex([1, 2, 3], {# > 5})", "-1"),
        ("map([{n: 'a'}, {n: 'b'}], {.n})", "[\"a\", \"b\"]"),
        ("any([{n: 'a'}, {n: 'b'}], {.n == 'b'})", "true"),
        ("map([[1, 2], [3]], {len(#)})", "[2, 1]"),
        ("any([[1, 2], [3]], {any(#, {# == 3})})", "true"),
        (
            "any(File('backdoors.txt'), { evt.Parsed.file_name == # })",
            "true",
        ),
        ("any(File('backdoors.txt'), { # contains 'zzz' })", "false"),
        (
            "map(filter(File('backdoors.txt'), {# endsWith '.php'}), {Upper(#)})",
            "[\"SHELL.PHP\", \"WP-LOGIN.PHP\", \"C99.PHP\"]",
        ),
        ("all(nil, {# > 0})", "ERR: cannot iterate over <nil>"),
        (
            "all([1, 'a'], {# > 0})",
            "ERR: mismatched types string and int",
        ),
        ("all([1, 2], {#})", "ERR: predicate should return boolean"),
        ("let n = 2; filter([1, 2, 3], {# >= n})", "[2, 3]"),
        ("count(evt.Unmarshaled.k8s.list, {# > 1})", "2"),
    ]);
}

#[test]
fn comments_and_whitespace() {
    check_table(&[
        ("1 + // one\n 2", "3"),
        ("/* c */ 1 /* d */ + 2", "3"),
        ("\n  evt.Meta.service\n  == 'http'\n", "true"),
    ]);
}
