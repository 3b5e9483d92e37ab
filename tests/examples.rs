//! Runs each example as its own process and checks what it prints, so that the examples
//! keep both compiling and telling the truth.

use std::process::Command;

/// Runs `cargo run --example name` and returns its stdout, after checking it succeeded.
///
/// Cargo releases the build lock while tests run, so this nested cargo can build the
/// example if needed (`cargo test --test examples` does not build examples), then run it.
fn run_example(name: &str) -> String {
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", name])
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

#[test]
fn lazy_connection_gives_each_thread_its_own_socket() {
    let stdout = run_example("lazy_connection");
    let sizes: Vec<usize> = stdout
        .lines()
        .filter_map(|line| line.split_once("Got ")?.1.strip_suffix(" bytes"))
        .map(|n| n.parse().expect("a byte count"))
        .collect();
    assert_eq!(sizes.len(), 2, "one `Got N bytes` per thread:\n{stdout}");
    assert!(
        sizes[0] > 0 && sizes[0] == sizes[1],
        "both threads get the same non-empty response:\n{stdout}"
    );
    let ports: Vec<&str> = stdout
        .lines()
        .filter_map(|line| {
            line.split_once("connected from local port ")
                .map(|(_, port)| port)
        })
        .collect();
    assert_eq!(ports.len(), 2, "both threads connect:\n{stdout}");
    assert_ne!(
        ports[0], ports[1],
        "each thread has its own socket:\n{stdout}"
    );
    assert!(
        stdout.contains("Already connected"),
        "a second connect() on one thread is refused:\n{stdout}"
    );
}

#[test]
fn tour_prints_its_key_facts() {
    let stdout = run_example("tour");
    for fact in [
        // One initializer run per thread that touched the value, none for the idle one.
        "initializer runs: 3 ",
        "after join: 1 value dropped",
        "thread B: is_initialized() = false",
        "sum of 1..=1000 = 500500",
        "Err(Borrowed): this thread's value is already borrowed",
    ] {
        assert!(stdout.contains(fact), "missing `{fact}` in:\n{stdout}");
    }
}
