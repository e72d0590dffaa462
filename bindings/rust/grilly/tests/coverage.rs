//! Every C function declared by grilly-sys is wrapped somewhere in the safe crate: called as
//! `sys::name(`, through the `out_tensor!(name(` helper, or listed in an op table (`=> name,`).
#[test]
fn every_c_function_has_a_safe_wrapper() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let decls = std::fs::read_to_string(format!("{dir}/../grilly-sys/src/bindings.rs")).unwrap();
    let mut src = String::new();
    for e in std::fs::read_dir(format!("{dir}/src")).unwrap() {
        src += &std::fs::read_to_string(e.unwrap().path()).unwrap();
    }
    let missing: Vec<&str> = decls
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub fn "))
        .map(|l| &l[..l.find('(').unwrap()])
        .filter(|name| ![format!("sys::{name}("), format!("!({name}("), format!("=> {name},")].iter().any(|p| src.contains(p.as_str())))
        .collect();
    assert!(missing.is_empty(), "C functions without a safe wrapper: {missing:?}");
}
