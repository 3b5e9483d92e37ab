//! Runs the examples that need tokio, each as its own process, and checks what they print.

use std::process::Command;

/// Runs `cargo run --example name` and returns its stdout, after checking it succeeded.
fn run_example(name: &str) -> String {
    run_example_with(name, &[])
}

/// Runs `cargo run --example name -- args..` and returns its stdout, after checking it
/// succeeded.
///
/// Cargo releases the build lock while tests run, so this nested cargo can build the
/// example if needed (`cargo test --test examples` does not build examples), then run it.
fn run_example_with(name: &str, args: &[&str]) -> String {
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

#[test]
fn async_tasks_keep_their_request_ids_across_threads() {
    let stdout = run_example("async_tasks");
    let tasks: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("task "))
        .collect();
    assert_eq!(tasks.len(), 20, "{stdout}");
    for (line, id) in tasks.iter().zip(1..) {
        let expected = format!("task {id:2}: request id {id} kept across 40 awaits; ran on ");
        assert!(line.starts_with(&expected), "{line}\n{stdout}");
    }
    assert!(
        stdout.contains("20 tasks, each kept its own request id; "),
        "{stdout}"
    );
    assert!(
        stdout.contains("reads the thread's own request id: 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("main thread's own request id: 0"),
        "{stdout}"
    );
}

#[test]
fn server_responses_carry_only_their_own_requests_data() {
    let stdout = run_example_with("server", &["500", "16"]);
    assert!(
        stdout.contains("load: 500 requests from 16 clients, 10 per connection"),
        "{stdout}"
    );
    assert!(
        stdout.contains("checked 500 responses: 0 mismatches; "),
        "every response checked, none carried another request's data:\n{stdout}"
    );
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
    // The handlers awaited, and the runtime moved them: the check crossed threads.
    let moved: usize = stdout
        .split_once("0 mismatches; ")
        .and_then(|(_, rest)| rest.split(' ').next()?.parse().ok())
        .expect("a count of handlers that moved");
    assert!(moved > 0, "no handler moved between threads:\n{stdout}");
    for line in ["throughput: ", "memory held: RSS "] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
    assert!(
        stdout
            .lines()
            .any(|line| line == "PASS: every response carried only its own request's data"),
        "{stdout}"
    );
}
