//! Runs the examples that need tokio, each as its own process, and checks what they print.

#[path = "../../tests/support/run_example.rs"]
mod support;

use support::run_example;

#[test]
fn async_tasks_keep_their_request_ids_across_threads() {
    let stdout = run_example("async_tasks", &[]);
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
    let stdout = run_example("server", &["500", "16"]);
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
