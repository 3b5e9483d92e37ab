//! Runs each example as its own process and checks what it prints, so that the examples
//! keep both compiling and telling the truth.

#[path = "support/run_example.rs"]
mod support;

use support::run_example;

#[test]
fn lazy_connection_gives_each_thread_its_own_socket() {
    let stdout = run_example("lazy_connection", &[]);
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
    let stdout = run_example("tour", &[]);
    for fact in [
        // One initializer run per thread that touched the value, none for the idle one.
        "initializer runs: 3 ",
        "after join: 1 value dropped",
        "thread B: is_initialized() = false",
        "sum of 1..=1000 = 500500",
        "Err(Borrowed): this thread's value is already borrowed",
        // The #[thread_local_struct] section.
        "after with_mut: value = 1001, hits = 1",
        "the workers exited: 2 Sessions dropped with them",
        "main still has value = 7",
        "is_initialized() = false\n   next read rebuilds it: value = 1000",
        "ThreadLocal<Session>: first = 1, second = 1000, Session::value() = 1000",
        // The contexts section: `fresh` values, then dropped, the outer back.
        "in local::fresh: Session::value() = 1000 (fresh)",
        "after it: Session::value() = 42; its Sessions dropped: 1",
        "gr1 sees 1, gr2 sees 2, the thread itself 0\n   gr1 sees 1, gr2 sees 2, the thread itself 0",
        // Children: what is declared `inherit` flows, the rest is fresh.
        "User::name() = \"ada\" (inherited)",
        "Scratch::bytes() = [] (fresh: Scratch is not declared inherit)",
        "a child spawned without it: User::name() = \"anonymous\"",
    ] {
        assert!(stdout.contains(fact), "missing `{fact}` in:\n{stdout}");
    }
    // Each thread's `#[init]` ran on that thread: three different owners.
    let mut owners: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.split_once("owner = ")?.1.split(',').next())
        .collect();
    owners.sort_unstable();
    owners.dedup();
    assert_eq!(
        owners.len(),
        3,
        "main and 2 workers, each its own owner:\n{stdout}"
    );
}

/// The lines one thread printed, `(name) message`, in order, without the prefix.
fn lines_of<'a>(stdout: &'a str, thread: &str) -> Vec<&'a str> {
    let prefix = format!("({thread}) ");
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .collect()
}

/// The `N` of a `value=N` line.
fn value_of(line: &str) -> Option<u32> {
    line.strip_prefix("value=")?.parse().ok()
}

#[test]
fn local_defaults_runs_the_initializer_once_per_thread() {
    let stdout = run_example("local_defaults", &[]);
    let mut initialized: Vec<&str> = stdout
        .lines()
        .filter_map(|line| {
            line.strip_suffix(") Initializing MyLocal")?
                .strip_prefix('(')
        })
        .collect();
    assert_eq!(
        stdout.matches("Initializing").count(),
        3,
        "one initializer run per thread:\n{stdout}"
    );
    initialized.sort_unstable();
    assert_eq!(
        initialized,
        ["Thread-1", "Thread-2", "main"],
        "each thread initializes its own value:\n{stdout}"
    );
    assert_eq!(
        lines_of(&stdout, "main"),
        ["Initializing MyLocal", "value=1000"],
        "{stdout}"
    );
    for worker in ["Thread-1", "Thread-2"] {
        let lines = lines_of(&stdout, worker);
        assert_eq!(lines.len(), 3, "{worker}:\n{stdout}");
        assert_eq!(
            lines[..2],
            ["Initializing MyLocal", "value=1000"],
            "{worker} starts from its own initializer's 1000:\n{stdout}"
        );
        assert!(
            value_of(lines[2]).is_some_and(|n| (1..=100).contains(&n)),
            "{worker} then sets a value in 1..=100:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("MyLocal::new ran 3 times: once per thread (main + 2 workers)"),
        "{stdout}"
    );
}

#[test]
fn thread_local_basic_starts_empty_on_every_thread() {
    let stdout = run_example("thread_local_basic", &[]);
    assert_eq!(
        lines_of(&stdout, "main"),
        ["No value yet", "value=1000"],
        "{stdout}"
    );
    for worker in ["Thread-1", "Thread-2"] {
        let lines = lines_of(&stdout, worker);
        assert_eq!(lines.len(), 2, "{worker}:\n{stdout}");
        assert_eq!(
            lines[0], "No value yet",
            "{worker} does not see main's 1000:\n{stdout}"
        );
        assert!(
            value_of(lines[1]).is_some_and(|n| (1..=100).contains(&n)),
            "{worker} then sets a value in 1..=100:\n{stdout}"
        );
    }
}

#[test]
fn greenlet_switch_gives_each_context_its_own_value() {
    let stdout = run_example("greenlet_switch", &[]);
    let shown: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains(": test = "))
        .collect();
    assert_eq!(
        shown,
        [
            "main: test = 0",
            // Each greenlet starts without a value: main's 0 is the thread's, not theirs.
            "gr1: test = None",
            "gr1: test = 1",
            "gr2: test = None",
            "gr2: test = 2",
            // Resumed, each sees its own value again.
            "gr1: test = 1",
            "gr2: test = 2",
            "gr1: test = 1",
            "gr2: test = 2",
            // The thread's own value, untouched.
            "main: test = 0",
        ],
        "{stdout}"
    );
}

#[test]
fn request_stack_carries_nothing_from_one_request_to_the_next() {
    let stdout = run_example("request_stack", &[]);
    let requests: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("request "))
        .collect();
    assert_eq!(requests.len(), 6, "six requests handled:\n{stdout}");
    for line in &requests {
        assert!(
            line.ends_with("; carried over: none"),
            "a request found another's state: {line}\n{stdout}"
        );
        assert!(
            line.contains(" on worker-1: ") || line.contains(" on worker-2: "),
            "served by a pooled worker: {line}\n{stdout}"
        );
    }
    // Every request was served, each once.
    let mut numbers: Vec<u32> = requests
        .iter()
        .filter_map(|line| {
            line.strip_prefix("request ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6], "{stdout}");
    // The request proxy reads the top of the stack, also a nested context's.
    assert!(
        stdout.contains("/old-home -> redirected (stack depth 2): home page (request.path = /)"),
        "{stdout}"
    );
    // No login is seen by a later request, on whichever worker.
    assert_eq!(
        stdout
            .matches("/profile -> anonymous: please log in")
            .count(),
        3,
        "{stdout}"
    );
    // Outside the `fresh` frames, the workers' own values were never touched.
    assert_eq!(
        stdout
            .matches("its thread's own Session: handled = 0, user = None")
            .count(),
        2,
        "{stdout}"
    );
    let served: u32 = stdout
        .lines()
        .filter_map(|line| {
            line.split_once(" served ")?
                .1
                .split(' ')
                .next()?
                .parse::<u32>()
                .ok()
        })
        .sum();
    assert_eq!(served, 6, "the workers served the six requests:\n{stdout}");
    assert!(
        stdout.contains("6 requests handled by 2 workers; main's stack is empty: true"),
        "{stdout}"
    );
}
