//! The crate's shape, checked from its sources so that it stays true:
//!
//! - no file inside `src/server` or `src/bench` imports a module that
//!   imports it back (directly or through others): each part has one owner
//!   and dependencies point one way;
//! - the layers depend downwards only (docs/architecture.md): `proto` uses
//!   nothing outside itself, `engine` knows nothing of FTP, `fs` and `auth`
//!   never reach up into the server, `socket` (shared by server and bench)
//!   uses nothing of the crate.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module path (`["server", "conn", "data"]`) → its file, for every file
/// under `src/`.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|x| x.to_str()) != Some("rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap();
            let mut segs: Vec<String> = rel
                .iter()
                .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            if segs.last().is_some_and(|l| l == "mod" || l == "lib") {
                segs.pop();
            }
            if segs.first().is_some_and(|f| f == "bin") {
                continue;
            }
            out.insert(segs, p);
        }
    }
    out
}

/// The source without comments and string literals (so paths in docs and
/// messages are not taken for imports).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i + 1 < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('a', '\n'); lifetimes have no closing quote here.
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// The code without inline `mod name { … }` blocks (test modules): their
/// `super` is the file's own module, and what they use is not the module's
/// dependency.
fn without_inline_modules(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(i) = rest.find("mod ") {
        let after = &rest[i + 4..];
        let name_len = after.chars().take_while(|c| is_ident(*c)).count();
        let tail = after[name_len..].trim_start();
        let starts_word = i == 0 || !is_ident(rest[..i].chars().last().unwrap_or(' '));
        if !(starts_word && name_len > 0 && tail.starts_with('{')) {
            out.push_str(&rest[..i + 4]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..i]);
        let body = &after[after.len() - tail.len()..];
        let mut depth = 0;
        let mut end = body.len();
        for (k, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

/// Expands a `use` tree (`a::{b, c::{d, self}}`) into full paths.
fn expand(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim_end_matches("::").trim();
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let base = join(prefix, head);
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..i], &base, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], &base, out);
    } else if !tree.is_empty() {
        let tree = tree.split(" as ").next().unwrap_or(tree).trim();
        let path = if tree == "self" {
            prefix.to_string()
        } else {
            join(prefix, tree)
        };
        out.push(path);
    }
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}::{b}"),
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path a file names: its `use` trees and inline `crate::`/`super::`
/// paths, plus the names of its child modules.
fn paths_in(code: &str) -> (Vec<String>, BTreeSet<String>) {
    let mut paths = Vec::new();
    let mut children = BTreeSet::new();
    for stmt in code.split(';') {
        let s = stmt.trim();
        let s = s
            .strip_prefix("pub(crate) ")
            .or(s.strip_prefix("pub(super) "));
        let s = s.unwrap_or(stmt.trim());
        let s = s.strip_prefix("pub ").unwrap_or(s);
        if let Some(name) = s.strip_prefix("mod ") {
            if name.chars().all(is_ident) {
                children.insert(name.to_string());
            }
        }
        // `use` may follow attributes or other items on earlier lines.
        if let Some(i) = s.rfind("use ") {
            if i == 0 || !is_ident(s[..i].chars().last().unwrap_or(' ')) {
                expand(&s[i + 4..], "", &mut paths);
            }
        }
    }
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let rest: String = chars[i..chars.len().min(i + 7)].iter().collect();
        let starts = rest.starts_with("crate::") || rest.starts_with("super::");
        if starts && (i == 0 || !is_ident(chars[i - 1])) {
            let mut j = i;
            while j < chars.len() && (is_ident(chars[j]) || chars[j] == ':') {
                j += 1;
            }
            paths.push(
                chars[i..j]
                    .iter()
                    .collect::<String>()
                    .trim_end_matches(':')
                    .to_string(),
            );
            i = j;
        } else {
            i += 1;
        }
    }
    (paths, children)
}

/// The module a path names, resolved from module `here`: the longest prefix
/// that is a module file.
fn resolve(
    path: &str,
    here: &[String],
    children: &BTreeSet<String>,
    mods: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<Vec<String>> {
    let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut abs: Vec<String> = match segs.first().copied()? {
        "crate" => Vec::new(),
        "super" | "self" => here.to_vec(),
        first if children.contains(first) => here.to_vec(),
        _ => return None, // std, a crate, or a name in scope
    };
    for (k, s) in segs.iter().enumerate() {
        match *s {
            "crate" if k == 0 => {}
            "self" => {}
            "super" => {
                abs.pop();
            }
            other => abs.push(other.to_string()),
        }
    }
    while !abs.is_empty() {
        if mods.contains_key(&abs) {
            return Some(abs);
        }
        abs.pop();
    }
    None
}

/// Module → the modules it imports (itself and its ancestors' declarations
/// of it excluded).
fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let mut g = BTreeMap::new();
    for (m, file) in &mods {
        let code = without_inline_modules(&code_only(&fs::read_to_string(file).unwrap()));
        let (paths, children) = paths_in(&code);
        let deps: BTreeSet<Vec<String>> = paths
            .iter()
            .filter_map(|p| resolve(p, m, &children, &mods))
            .filter(|d| d != m && !d.is_empty())
            .collect();
        g.insert(m.clone(), deps);
    }
    g
}

fn name(m: &[String]) -> String {
    m.join("::")
}

#[test]
fn no_import_circle_inside_server_or_bench() {
    let g = graph();
    for top in ["server", "bench"] {
        let inside = |m: &Vec<String>| m.first().is_some_and(|f| f == top);
        for (start, _) in g.iter().filter(|(m, _)| inside(m)) {
            // Depth-first from each module: reaching it again is a circle.
            let mut stack: Vec<Vec<Vec<String>>> = vec![vec![start.clone()]];
            let mut seen = BTreeSet::new();
            while let Some(path) = stack.pop() {
                let last = path.last().unwrap();
                for d in g.get(last).into_iter().flatten().filter(|d| inside(d)) {
                    if d == start {
                        let names: Vec<String> = path.iter().map(|m| name(m)).collect();
                        panic!("import circle: {} -> {}", names.join(" -> "), name(start));
                    }
                    if seen.insert(d.clone()) {
                        let mut next = path.clone();
                        next.push(d.clone());
                        stack.push(next);
                    }
                }
            }
        }
    }
}

#[test]
fn layers_depend_downwards_only() {
    // Which top-level modules each layer may use (besides itself).
    let allowed: &[(&str, &[&str])] = &[
        ("proto", &[]),
        ("engine", &[]),
        ("fs", &["proto"]),
        ("auth", &["proto"]),
        ("socket", &[]),
    ];
    for (m, deps) in graph() {
        let Some((layer, ok)) = allowed
            .iter()
            .find(|(l, _)| m.first().is_some_and(|f| f == l))
        else {
            continue;
        };
        for d in deps {
            let top = d[0].as_str();
            assert!(
                top == *layer || ok.contains(&top),
                "{} uses {}: the {layer} layer may use only {ok:?}",
                name(&m),
                name(&d)
            );
        }
    }
}

#[test]
fn the_checker_sees_a_circle_and_a_child_module() {
    // The parser on a made-up tree: `a` uses its child `b` by plain name,
    // and `b` names `super::A`.
    let (paths, children) = paths_in(&code_only(
        "mod b;\nuse b::{X, y::{self, Z}};\n// use crate::ignored;\nfn f() { crate::c::d(); }",
    ));
    assert!(children.contains("b"));
    assert!(paths.contains(&"b::X".to_string()));
    assert!(paths.contains(&"b::y".to_string()));
    assert!(paths.contains(&"b::y::Z".to_string()));
    assert!(paths.contains(&"crate::c::d".to_string()));
    assert!(!paths.iter().any(|p| p.contains("ignored")));
    let mut mods = BTreeMap::new();
    for m in [vec!["a"], vec!["a", "b"], vec!["c"]] {
        mods.insert(m.iter().map(|s| s.to_string()).collect(), PathBuf::new());
    }
    let stripped = without_inline_modules(
        "use a::X;\n#[cfg(test)]\nmod tests { use super::*; fn f() { {} } }\nuse c::Y;",
    );
    assert!(stripped.contains("a::X") && stripped.contains("c::Y"));
    assert!(!stripped.contains("super"), "{stripped}");
    let here = vec!["a".to_string(), "b".to_string()];
    let up = resolve("super::A", &here, &BTreeSet::new(), &mods);
    assert_eq!(up, Some(vec!["a".to_string()]));
}
