//! Fails when the committed declarations (src/bindings.rs) no longer match include/grilly.h:
//! every GRL_API function must be declared with the same number of arguments, and every enum
//! constant with the same value. Fix: `python3 generate.py` in grilly-sys.
use std::collections::BTreeMap;

fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        let j = rest[i..].find("*/").expect("unterminated comment") + i + 2;
        out.push(' ');
        rest = &rest[j..];
    }
    out.push_str(rest);
    out.lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n")
}

fn count_args(args: &str) -> usize {
    let a = args.trim();
    if a.is_empty() || a == "void" { 0 } else { a.split(',').count() }
}

/// Drops preprocessor lines (with their backslash continuations).
fn strip_preprocessor(h: &str) -> String {
    let mut out = String::new();
    let mut continued = false;
    for line in h.lines() {
        let skip = continued || line.trim_start().starts_with('#');
        continued = skip && line.trim_end().ends_with('\\');
        if !skip {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn header_functions(h: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for stmt in strip_preprocessor(h).split(';') {
        let s = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some(i) = s.find("GRL_API ") else { continue };
        let decl = &s[i..];
        let open = decl.find('(').unwrap();
        let name = decl[..open].rsplit(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap();
        let args = &decl[open + 1..decl.rfind(')').unwrap()];
        m.insert(name.to_string(), count_args(args));
    }
    m
}

fn rust_functions(r: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for line in r.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("pub fn ") {
            let open = rest.find('(').unwrap();
            let close = rest.find(')').unwrap();
            m.insert(rest[..open].to_string(), count_args(&rest[open + 1..close]));
        }
    }
    m
}

fn header_enum_constants(h: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let mut rest = h;
    while let Some(i) = rest.find("typedef enum") {
        let body_start = rest[i..].find('{').unwrap() + i + 1;
        let body_end = rest[body_start..].find('}').unwrap() + body_start;
        for item in rest[body_start..body_end].split(',') {
            if let Some((k, v)) = item.split_once('=') {
                m.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        rest = &rest[body_end..];
    }
    m
}

fn rust_constants(r: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in r.lines() {
        if let Some(rest) = line.trim().strip_prefix("pub const ") {
            let (name, tail) = rest.split_once(':').unwrap();
            let value = tail.split_once('=').unwrap().1.trim().trim_end_matches(';');
            m.insert(name.trim().to_string(), value.to_string());
        }
    }
    m
}

fn read_sources() -> (String, String) {
    let dir = env!("CARGO_MANIFEST_DIR");
    let header = std::fs::read_to_string(format!("{dir}/../../../include/grilly.h")).unwrap();
    let rust = std::fs::read_to_string(format!("{dir}/src/bindings.rs")).unwrap();
    (header, rust)
}

fn problems(header: &str, rust: &str) -> Vec<String> {
    let header = strip_comments(header);
    let (hf, rf) = (header_functions(&header), rust_functions(rust));
    assert!(hf.len() > 150, "parsed only {} functions from grilly.h", hf.len());
    let mut problems = Vec::new();
    for (name, n) in &hf {
        match rf.get(name) {
            None => problems.push(format!("{name} is missing from bindings.rs")),
            Some(m) if m != n => problems.push(format!("{name} takes {n} arguments in C, {m} in bindings.rs")),
            _ => {}
        }
    }
    for name in rf.keys().filter(|k| !hf.contains_key(*k)) {
        problems.push(format!("{name} is in bindings.rs but not in grilly.h"));
    }
    let (hc, rc) = (header_enum_constants(&header), rust_constants(rust));
    for (name, v) in &hc {
        if rc.get(name) != Some(v) {
            problems.push(format!("enum constant {name} = {v} does not match bindings.rs ({:?})", rc.get(name)));
        }
    }
    problems
}

#[test]
fn declarations_match_header() {
    let (header, rust) = read_sources();
    let problems = problems(&header, &rust);
    assert!(problems.is_empty(), "bindings.rs is out of date (run python3 generate.py):\n{}", problems.join("\n"));
}

#[test]
fn the_check_detects_drift() {
    let (header, rust) = read_sources();
    let added = header.replace("GRL_API uint32_t grl_version(void);",
                               "GRL_API uint32_t grl_version(void);\nGRL_API grl_status grl_new_fn(int32_t a, grl_tensor* out);");
    assert_eq!(problems(&added, &rust), vec!["grl_new_fn is missing from bindings.rs"]);
    let changed = header.replace("grl_status grl_relu(grl_tensor x, grl_tensor* out)",
                                 "grl_status grl_relu(grl_tensor x, double a, grl_tensor* out)");
    assert_eq!(problems(&changed, &rust), vec!["grl_relu takes 3 arguments in C, 2 in bindings.rs"]);
    let renumbered = header.replace("GRL_ERROR_SHAPE = -3", "GRL_ERROR_SHAPE = -30");
    assert_eq!(problems(&renumbered, &rust).len(), 1);
}

#[test]
#[cfg(all(target_pointer_width = "64", target_os = "linux"))]
fn struct_layouts_are_sane() {
    use grilly_sys::*;
    // Sizes and an offset gcc gives these structs on x86_64 Linux (LP64).
    assert_eq!(std::mem::size_of::<grl_device_info>(), 328);
    assert_eq!(std::mem::size_of::<grl_device_options>(), 24);
    assert_eq!(std::mem::size_of::<grl_memory_stats>(), 64);
    assert_eq!(std::mem::size_of::<grl_optimizer_options>(), 136);
    assert_eq!(std::mem::size_of::<grl_lr_schedule_options>(), 152);
    assert_eq!(std::mem::size_of::<grl_custom_function>(), 48);
    let o = std::mem::MaybeUninit::<grl_optimizer_options>::uninit();
    let base = o.as_ptr() as usize;
    // SAFETY: only the address of a field is taken.
    let field = unsafe { std::ptr::addr_of!((*o.as_ptr()).fisher_decay) } as usize;
    assert_eq!(field - base, 128);
    // The neuromorphic families' options (a nested struct, enums and mixed widths).
    assert_eq!(std::mem::size_of::<grl_lif_options>(), 72);
    assert_eq!(std::mem::size_of::<grl_neuron_options>(), 104);
    assert_eq!(std::mem::size_of::<grl_snn_options>(), 88);
    assert_eq!(std::mem::size_of::<grl_stp_options>(), 40);
    assert_eq!(std::mem::size_of::<grl_stdp_options>(), 112);
    assert_eq!(std::mem::size_of::<grl_nlms_options>(), 48);
    assert_eq!(std::mem::size_of::<grl_index_flat_options>(), 24);
    let s = std::mem::MaybeUninit::<grl_snn_options>::uninit();
    // SAFETY: only the address of a field is taken.
    let dtype = unsafe { std::ptr::addr_of!((*s.as_ptr()).dtype) } as usize;
    assert_eq!(dtype - s.as_ptr() as usize, 80);
}
