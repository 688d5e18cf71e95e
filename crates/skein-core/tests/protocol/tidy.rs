//! Rules kept by machine over the whole workspace (STYLE.md §15): no source file over 1,500
//! lines, no `unwrap()` in the non-test code of the protocol crates, no leftover debugging
//! macros or markers.

use std::path::{Path, PathBuf};

const LINES_MAX: usize = 1_500;

/// Crates where bytes from outside must never reach `unwrap`.
const NO_UNWRAP_CRATES: &[&str] = &["skein-chain", "skein-core", "skein-rpc"];

fn rust_files(directory: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name == "target") {
                continue;
            }
            rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

fn is_test_code(path: &Path) -> bool {
    path.components().any(|component| {
        let name = component.as_os_str();
        name == "unit_tests" || name == "tests" || name == "examples" || name == "benches"
    })
}

#[test]
fn test_tidy_workspace() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    rust_files(&workspace.join("crates"), &mut files);
    rust_files(&workspace.join("examples"), &mut files);
    assert!(files.len() > 20, "the tidy check found the sources");
    let debug_macro = concat!("dbg", "!(");
    let marker = concat!("FIX", "ME");
    let mut problems = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("a readable source file");
        let shown = path
            .strip_prefix(&workspace)
            .unwrap_or(path)
            .display()
            .to_string();
        let lines = text.lines().count();
        if lines > LINES_MAX {
            problems.push(format!(
                "{shown}: {lines} lines, above {LINES_MAX}: split it by topic"
            ));
        }
        if text.contains(debug_macro) {
            problems.push(format!("{shown}: a leftover {debug_macro}"));
        }
        if text.contains(marker) {
            problems.push(format!("{shown}: a {marker} marker"));
        }
        let protocol_crate = NO_UNWRAP_CRATES
            .iter()
            .any(|name| shown.contains(&format!("crates/{name}/src")));
        if protocol_crate && !is_test_code(path) {
            // Code after a `#[cfg(test)]` module attribute is test code.
            let production = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (number, line) in production.lines().enumerate() {
                if line.contains(".unwrap()") && !line.trim_start().starts_with("//") {
                    problems.push(format!("{shown}:{}: unwrap() in protocol code", number + 1));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "tidy problems:\n{}",
        problems.join("\n")
    );
}
