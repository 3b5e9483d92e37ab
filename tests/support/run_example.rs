//! Runs an example as its own process, for the tests that check what examples print (this
//! package's and the test suite's).

use std::process::Command;

/// Runs `cargo run --example name -- args..` in the calling package and returns its
/// stdout, after checking it succeeded.
///
/// Cargo releases the build lock while tests run, so this nested cargo can build the
/// example if needed (`cargo test --test examples` does not build examples), then run it.
pub fn run_example(name: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", name, "--"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|error| panic!("cannot run cargo for example `{name}`: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "example `{name}` failed ({})\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
    );
    stdout
}
