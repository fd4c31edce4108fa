//! No import circles inside a crate: from the `crate::`, `self::` and `super::` paths each
//! module file names (re-exports followed), a graph of module files; a module naming its own
//! ancestor does not count (a child builds on its parent); unit-test modules do not count. Every strongly connected group of
//! more than one module is a circle.

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Module path → file, for the `.rs` files under `src`.
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(src).unwrap().with_extension("");
                let mut m: Module = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
                if matches!(m.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                    m.pop();
                }
                out.insert(m, p);
            }
        }
    }
    out
}

/// The module's own code: comments and its unit tests (from `#[cfg(test)]`, last by
/// convention) left out, since tests may use any sibling.
fn without_comments(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap();
    code.lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n")
}

/// The module-to-module edges of one crate.
fn edges(mods: &BTreeMap<Module, PathBuf>) -> BTreeSet<(Module, Module)> {
    let texts: BTreeMap<&Module, String> = mods.iter().map(|(m, p)| (m, without_comments(&std::fs::read_to_string(p).unwrap()))).collect();
    // `pub use a::{b, c}` naming modules: a path through the re-exporting module reaches them.
    let reexport = Regex::new(r"pub use ((?:\w+::)*)(\{[^}]*\}|\w+)\s*;").unwrap();
    let mut alias: BTreeMap<Module, Module> = BTreeMap::new();
    for (m, t) in &texts {
        for c in reexport.captures_iter(t) {
            let mut prefix: Vec<String> = c[1].split("::").filter(|s| !s.is_empty()).map(String::from).collect();
            let from_root = prefix.first().is_some_and(|s| s == "crate");
            if from_root {
                prefix.remove(0);
            }
            for name in c[2].trim_matches(|ch| ch == '{' || ch == '}').split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let mut full = if from_root { Vec::new() } else { (*m).clone() };
                full.extend(prefix.iter().cloned());
                full.push(name.to_string());
                if mods.contains_key(&full) {
                    let mut key = (*m).clone();
                    key.push(name.to_string());
                    alias.insert(key, full);
                }
            }
        }
    }
    let resolve = |mut path: Module| {
        for _ in 0..8 {
            match (1..=path.len()).rev().find_map(|k| alias.get(&path[..k]).map(|a| (k, a.clone()))) {
                Some((k, a)) => path = a.into_iter().chain(path[k..].iter().cloned()).collect(),
                None => break,
            }
        }
        path
    };
    let path_re = Regex::new(r"\b(crate|super|self)((?:::\w+)*)(?:::\{([^;]*?)\})?").unwrap();
    let mut out = BTreeSet::new();
    for (m, t) in &texts {
        for c in path_re.captures_iter(t) {
            let head: Vec<String> = std::iter::once(c[1].to_string()).chain(c[2].split("::").filter(|s| !s.is_empty()).map(String::from)).collect();
            let mut paths = vec![head.clone()];
            if let Some(group) = c.get(3) {
                for part in group.as_str().split(',') {
                    let part = part.split(" as ").next().unwrap().trim_matches(|ch: char| ch == '{' || ch == '}' || ch.is_whitespace());
                    if !part.is_empty() && part != "self" {
                        paths.push(head.iter().cloned().chain(part.split("::").map(String::from)).collect());
                    }
                }
            }
            for p in paths {
                let abs: Module = match p[0].as_str() {
                    "crate" => p[1..].to_vec(),
                    "self" => (*m).iter().cloned().chain(p[1..].iter().cloned()).collect(),
                    _ => {
                        let ups = p.iter().take_while(|s| *s == "super").count();
                        let base = &m[..m.len().saturating_sub(ups)];
                        base.iter().cloned().chain(p[ups..].iter().cloned()).collect()
                    }
                };
                let abs = resolve(abs);
                let Some(target) = (0..=abs.len()).rev().map(|k| abs[..k].to_vec()).find(|k| mods.contains_key(k)) else { continue };
                // Naming oneself or one's own ancestor is not a circle.
                if m.starts_with(&target) {
                    continue;
                }
                out.insert(((*m).clone(), target));
            }
        }
    }
    out
}

/// Groups of modules that reach each other (Tarjan's strongly connected components).
fn circles(mods: &BTreeMap<Module, PathBuf>, edges: &BTreeSet<(Module, Module)>) -> Vec<BTreeSet<Module>> {
    struct T<'a> {
        g: BTreeMap<&'a Module, Vec<&'a Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        out: Vec<BTreeSet<Module>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a Module) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        for w in t.g.get(v).cloned().unwrap_or_default() {
            if !t.index.contains_key(w) {
                visit(t, w);
                let l = t.low[w].min(t.low[v]);
                t.low.insert(v, l);
            } else if t.stack.contains(&w) {
                let l = t.index[w].min(t.low[v]);
                t.low.insert(v, l);
            }
        }
        if t.low[v] == t.index[v] {
            let mut c = BTreeSet::new();
            while let Some(w) = t.stack.pop() {
                c.insert(w.clone());
                if w == v {
                    break;
                }
            }
            if c.len() > 1 {
                t.out.push(c);
            }
        }
    }
    let mut t = T { g: BTreeMap::new(), index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), out: Vec::new() };
    for (a, b) in edges {
        t.g.entry(a).or_default().push(b);
    }
    for m in mods.keys() {
        if !t.index.contains_key(m) {
            visit(&mut t, m);
        }
    }
    t.out
}

fn name(m: &Module) -> String {
    if m.is_empty() { "<crate root>".into() } else { m.join("::") }
}

#[test]
fn no_crate_has_an_import_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    for (krate, src) in [("pyemu", "src"), ("emulator", "emulator/src"), ("peripherals", "peripherals/src"), ("images", "images/src"), ("test-support", "test-support/src")] {
        let mods = modules(&root.join(src));
        assert!(!mods.is_empty(), "{krate}: no modules under {src}");
        let e = edges(&mods);
        for c in circles(&mods, &e) {
            let inside: Vec<String> = e.iter().filter(|(a, b)| c.contains(a) && c.contains(b)).map(|(a, b)| format!("{} -> {}", name(a), name(b))).collect();
            found.push(format!("{krate}: {}", inside.join(", ")));
        }
    }
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

/// The check sees a circle when there is one.
#[test]
fn a_circle_is_seen() {
    let dir = std::env::temp_dir().join(format!("pyemu-circles-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod a;\npub mod b;\npub use a::x as _;\n").unwrap();
    std::fs::write(dir.join("a/mod.rs"), "pub mod inner;\nuse crate::b::Thing;\n").unwrap();
    std::fs::write(dir.join("a/inner.rs"), "use super::super::b;\n").unwrap();
    std::fs::write(dir.join("b.rs"), "use crate::{a::inner::X, other};\n").unwrap();
    let mods = modules(&dir);
    let e = edges(&mods);
    let c = circles(&mods, &e);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(c.len(), 1, "{e:?}");
    assert!(c[0].contains(&vec!["b".to_string()]) && c[0].contains(&vec!["a".to_string(), "inner".to_string()]), "{c:?}");
}
