//! Memory per live context (DESIGN §4: 1,000,000 live contexts, each holding one `u64`, in
//! one of 10 `ThreadLocal`s or in an attribute struct: at most 128 bytes each beyond what
//! the program holds without them). Resident memory is read from `/proc/self/statm`
//! before and after making the contexts, so this runs on Linux only.
//!
//! ```text
//! cargo bench --bench memory                 # prints the figures, writes them for scripts/bench-table
//! cargo bench --bench memory -- 100000       # another number of contexts
//! ```
//!
//! Results go to `target/criterion/memory/<case>.json` (`{"bytes_per_context": ..}`), next
//! to criterion's, where `scripts/bench-table` reads them.

use std::hint::black_box;
use std::path::PathBuf;

use local::{Context, ThreadLocal, thread_local_struct};

#[thread_local_struct]
struct Request {
    id: u64,
}

fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Bytes of resident memory per context, for `count` live contexts that `make` builds.
fn per_context(count: usize, make: impl Fn(usize) -> Context) -> Option<f64> {
    // The vector that holds the contexts is part of what they cost the program.
    let before = resident_bytes()?;
    let contexts: Vec<Context> = (0..count).map(&make).collect();
    let after = resident_bytes()?;
    black_box(&contexts);
    drop(contexts);
    Some(after.saturating_sub(before) as f64 / count as f64)
}

fn write_result(case: &str, bytes: f64) {
    // The workspace's target directory, where criterion writes its results too.
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion")
        .join("memory");
    std::fs::create_dir_all(&dir).expect("create the results directory");
    std::fs::write(
        dir.join(format!("{case}.json")),
        format!("{{\"bytes_per_context\": {bytes:.1}}}\n"),
    )
    .expect("write the result");
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing, and a small
    // count keeps that check quick.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let benching = args.iter().any(|arg| arg == "--bench");
    let count = args
        .iter()
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(if benching { 1_000_000 } else { 1_000 });

    let locals: Vec<ThreadLocal<u64>> = (0..10).map(|_| ThreadLocal::new()).collect();
    // The thread's own values and the locals' tables exist before measuring.
    locals.iter().for_each(|local| local.set(0));
    Request::set_id(0);

    type MakeContext<'a> = Box<dyn Fn(usize) -> Context + 'a>;
    let cases: [(&str, MakeContext); 2] = [
        (
            "thread_local",
            Box::new(|i| {
                let mut context = Context::new();
                context.run(|| locals[i % locals.len()].set(i as u64));
                context
            }),
        ),
        (
            "attribute",
            Box::new(|i| {
                let mut context = Context::new();
                context.run(|| Request::set_id(i as u64));
                context
            }),
        ),
    ];
    for (case, make) in cases {
        match per_context(count, make) {
            Some(bytes) => {
                println!("memory/{case}: {bytes:.1} bytes per live context ({count} contexts)");
                if benching {
                    write_result(case, bytes);
                }
            }
            None => println!("memory/{case}: no resident-memory figure on this platform"),
        }
    }
}
