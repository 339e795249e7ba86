//! Generates the dispatch table of the `every-function` binary from `src/entries`, one 7-line entry file per function:
//! each file becomes a module whose `main` runs when the Lambda's Handler names it. Adding a function is adding its
//! file (and its resource in template.yaml).
use std::fmt::Write;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/entries");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("src/entries exists")
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    let mut out = String::new();
    for name in &names {
        let path = dir.join(format!("{name}.rs"));
        writeln!(
            out,
            "#[path = {:?}]\nmod {};",
            path.display().to_string(),
            module(name)
        )
        .unwrap();
    }
    writeln!(
        out,
        "/// Every function's handler name, sorted.\npub const FUNCTIONS: &[&str] = &{names:?};"
    )
    .unwrap();
    out.push_str("/// Runs the function named `handler`, or `None` when there is none.\n");
    out.push_str("fn run(handler: &str) -> Option<Result<(), wxtpl::lambda::BoxError>> {\n    match handler {\n");
    for name in &names {
        writeln!(out, "        {name:?} => Some({}::main()),", module(name)).unwrap();
    }
    out.push_str("        _ => None,\n    }\n}\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("dispatch.rs");
    std::fs::write(dest, out).unwrap();
}

fn module(name: &str) -> String {
    name.replace('-', "_")
}
