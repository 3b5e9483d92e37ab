//! The examples on `local`'s pages are written against `local`, as a user's crate depends on
//! it: pasted into such a crate, an example that imports `local_core::` fails with E0432.
//!
//! Most of those pages are `local-core`'s items, re-exported, so their examples live in
//! `local-core/src`. They begin with the hidden line `# use local_core as local;`, which
//! lets them run as `local-core`'s doctests (it cannot depend on `local`) while showing
//! `use local::..` on the page. This test reads every example there and fails on a shown
//! line that names `local_core`.

use std::fs;
use std::path::Path;

/// Files whose items are all `#[doc(hidden)]`: no page of `local` shows their examples,
/// which test the crate's own paths.
const HIDDEN: &[&str] = &["send_probe.rs"];

/// The shown lines of every fenced example in the doc comments of `source`, with their
/// line numbers. A line starting with `# ` (or a lone `#`) is hidden by rustdoc.
fn shown_example_lines(source: &str) -> Vec<(usize, String)> {
    let mut shown = Vec::new();
    let mut fence: Option<bool> = None; // Some(is_rust) inside a fence
    for (index, line) in source.lines().enumerate() {
        let trimmed = line.trim_start();
        let Some(doc) = trimmed
            .strip_prefix("///")
            .or_else(|| trimmed.strip_prefix("//!"))
        else {
            assert!(
                fence.is_none(),
                "line {}: an example is not closed",
                index + 1
            );
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        if let Some(info) = doc.trim_start().strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(!info.starts_with("text")),
            };
            continue;
        }
        let hidden = doc.trim_start() == "#" || doc.trim_start().starts_with("# ");
        if fence == Some(true) && !hidden {
            shown.push((index + 1, doc.to_owned()));
        }
    }
    shown
}

#[test]
fn examples_on_local_pages_import_from_local() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = fs::read_dir(root.join("local-core/src"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .filter(|path| !HIDDEN.iter().any(|name| path.ends_with(name)))
        .collect();
    files.push(root.join("src/lib.rs"));
    files.push(root.join("README.md"));

    let mut examples = 0;
    let mut offenders = Vec::new();
    for path in &files {
        let source = fs::read_to_string(path).unwrap();
        let source = if path.extension().is_some_and(|ext| ext == "md") {
            // The README is a doctest of `local` as it is: read it as one doc comment.
            source.lines().map(|line| format!("/// {line}\n")).collect()
        } else {
            source
        };
        let lines = shown_example_lines(&source);
        examples += lines.len();
        for (number, line) in lines {
            if line.contains("local_core") {
                offenders.push(format!("{}:{number}: {line}", path.display()));
            }
        }
    }
    // The scan reads examples at all: `local-core` alone shows hundreds of their lines.
    assert!(examples > 500, "read only {examples} example lines");
    assert!(
        offenders.is_empty(),
        "examples on `local`'s pages that name `local_core` (write `use local::..`, after \
         the hidden line `# use local_core as local;`):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_scan_sees_a_shown_line_and_skips_hidden_ones() {
    let source = "/// ```\n/// # use local_core as local;\n/// use local_core::ThreadLocal;\n\
                  /// ```\n/// ```text\n/// local_core\n/// ```\nfn f() {}\n";
    let shown = shown_example_lines(source);
    assert_eq!(shown, [(3, "use local_core::ThreadLocal;".to_owned())]);
}
