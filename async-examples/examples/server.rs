//! An HTTP-style server whose handlers read the request from a local, not a parameter, and a
//! load run that checks no request ever sees another's.
//!
//! An async server interleaves many connections on a few worker threads, and a task may be
//! polled on one thread, then another: a thread-local would mix requests up. Here:
//!
//! - the accept loop runs in a context of its own (`local::fresh_async`), where it pushes a
//!   `server` frame on `FRAMES`, an inheritable `LocalStack`;
//! - every connection is spawned with `.inherit_locals()`: its own context, starting from a
//!   copy of the accept loop's stack, and its own `Connection` counter;
//! - every request on a connection is bound to `Request` with `Request::scope`, and
//!   pushes its frames (request, auth middleware, handler) on the connection's stack;
//! - the handler yields and sleeps in between, so tasks move between the worker threads.
//!
//! The handler echoes what it read from the locals; each client compares that with what it
//! sent. Then the program prints the throughput, the memory the process holds and a PASS
//! or FAIL line, and exits non-zero if any response carried another request's data.
//!
//! Run with (defaults: 10000 requests, 64 clients)
//!
//! ```text
//! cargo run --release -p local-async-examples --example server -- [requests] [clients]
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use local::{InheritLocals, LocalStack, thread_local_struct};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The request being served, read by the handler from anywhere: Flask's `request`.
#[thread_local_struct]
struct Request {
    id: u64,
    path: String,
    user: Option<String>,
}

/// What a connection keeps between its requests: one value per connection's context.
#[thread_local_struct]
struct Connection {
    served: u32,
}

/// Where the code is: server, connection, request, middleware, handler. Each frame holds
/// the whole path, like a tracing span's. Inheritable: a connection starts from a copy of
/// the accept loop's stack.
static FRAMES: LocalStack<String> = LocalStack::new().inherit();

/// How many requests a client sends on one connection before it opens another.
const PER_CONNECTION: usize = 10;

/// Runs `next` inside a new frame named `name`.
///
/// `push_scoped` would pop the frame on drop, but its guard is not `Send` (it pops the
/// stack of the thread that pushed), so a task that awaits cannot hold it: push, await, pop.
async fn framed<T>(name: &str, next: impl Future<Output = T>) -> T {
    let path = FRAMES.with_top(|top| match top {
        Some(outer) => format!("{outer} > {name}"),
        None => name.to_owned(),
    });
    FRAMES.push(path);
    let output = next.await;
    FRAMES.pop();
    output
}

// -----------------------------------------------------------------------------------------
// The server
// -----------------------------------------------------------------------------------------

/// Accepts connections until the program ends, each in its own task and context.
async fn serve(listener: TcpListener) {
    FRAMES.push("server".to_owned());
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        // The connection's context starts from clones of this task's inheritable locals:
        // the `server` frame. `Request` and `Connection` are not inherited: fresh.
        tokio::spawn(serve_connection(stream, peer).inherit_locals());
    }
}

/// Serves the requests of one connection, one after another.
async fn serve_connection(stream: TcpStream, peer: SocketAddr) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    framed(&format!("conn {peer}"), async {
        while let Some(request) = read_request(&mut reader).await {
            Connection::with_mut(|c| c.served += 1);
            let frame = format!("GET {}", request.path);
            let body = framed(&frame, Request::scope(request, auth())).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if writer.write_all(response.as_bytes()).await.is_err() {
                break;
            }
        }
    })
    .await;
}

/// Reads `GET path`, then `X-Request-Id` and `X-User` headers, up to a blank line; `None`
/// when the client closed the connection (or sent something else).
async fn read_request(reader: &mut (impl AsyncBufReadExt + Unpin)) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).await.ok()?;
    let path = line.strip_prefix("GET ")?.split(' ').next()?.to_owned();
    let (mut id, mut user) = (None, None);
    loop {
        line.clear();
        reader.read_line(&mut line).await.ok()?;
        match line.trim_end().split_once(": ") {
            Some(("X-Request-Id", value)) => id = value.parse().ok(),
            Some(("X-User", value)) => user = Some(value.to_owned()),
            Some(_) => {}
            None => break,
        }
    }
    Some(Request {
        id: id?,
        path,
        user,
    })
}

/// Middleware: a frame of its own around the handler, and an await in between.
async fn auth() -> String {
    framed("auth", async {
        // Another task may run here, on this worker or another.
        tokio::task::yield_now().await;
        framed("handler", handler()).await
    })
    .await
}

/// The handler: reads everything from the locals, after an await that may move it.
async fn handler() -> String {
    let before = thread::current().id();
    // A database call.
    tokio::time::sleep(Duration::from_millis(1)).await;
    let moved = thread::current().id() != before;
    let user = Request::user().unwrap_or_else(|| "anonymous".to_owned());
    format!(
        "id: {}\npath: {}\nuser: {user}\nserved: {}\ndepth: {}\nframes: {}\nmoved: {moved}\n",
        Request::id(),
        Request::path(),
        Connection::served(),
        FRAMES.len(),
        FRAMES.with_top(|top| top.cloned()).unwrap_or_default(),
    )
}

// -----------------------------------------------------------------------------------------
// The load
// -----------------------------------------------------------------------------------------

/// What the clients found.
#[derive(Default)]
struct Tally {
    checked: AtomicUsize,
    mismatches: AtomicUsize,
    moved: AtomicUsize,
}

/// What the handler must have seen for request `id`, sent as the `served`-th request of
/// the connection from `local`. (Everything but `moved`, which the handler adds.)
fn expected(id: u64, user: Option<&str>, served: usize, local: SocketAddr) -> String {
    let path = format!("/items/{id}");
    format!(
        "id: {id}\npath: {path}\nuser: {}\nserved: {served}\ndepth: 5\n\
         frames: server > conn {local} > GET {path} > auth > handler\n",
        user.unwrap_or("anonymous"),
    )
}

/// One client: sends requests `ids` over connections of `PER_CONNECTION` requests each,
/// and checks every response. Every third request is anonymous.
async fn client(server: SocketAddr, ids: Vec<u64>, tally: &Tally) -> std::io::Result<()> {
    for batch in ids.chunks(PER_CONNECTION) {
        let stream = TcpStream::connect(server).await?;
        let local = stream.local_addr()?;
        let (reader, mut writer) = stream.into_split();
        let mut reader = BufReader::new(reader);
        for (served, &id) in (1..).zip(batch) {
            let user = (id % 3 != 0).then(|| format!("user-{}", id % 7));
            let mut request = format!("GET /items/{id} HTTP/1.1\r\nX-Request-Id: {id}\r\n");
            if let Some(user) = &user {
                request.push_str(&format!("X-User: {user}\r\n"));
            }
            request.push_str("\r\n");
            writer.write_all(request.as_bytes()).await?;

            let body = read_response(&mut reader).await?;
            let want = expected(id, user.as_deref(), served, local);
            let (seen, moved) = body.split_at(body.find("moved: ").unwrap_or(body.len()));
            if seen == want {
                if moved == "moved: true\n" {
                    tally.moved.fetch_add(1, Ordering::Relaxed);
                }
            } else if tally.mismatches.fetch_add(1, Ordering::Relaxed) < 5 {
                println!("MISMATCH for request {id}:\n--- sent\n{want}--- seen\n{seen}");
            }
            tally.checked.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Reads one response and returns its body.
async fn read_response(reader: &mut (impl AsyncBufReadExt + Unpin)) -> std::io::Result<String> {
    let mut line = String::new();
    let mut length = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if let Some(value) = line.trim_end().strip_prefix("Content-Length: ") {
            length = value.parse().unwrap_or(0);
        } else if line.trim_end().is_empty() {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The memory the process holds (resident set), in bytes, where `/proc` has it.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("unknown".to_owned(), |b| {
        format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
    })
}

fn argument(position: usize, default: usize) -> usize {
    std::env::args().nth(position).map_or(default, |arg| {
        arg.parse().expect("usage: server [requests] [clients]")
    })
}

fn main() -> ExitCode {
    let requests = argument(1, 10_000);
    let clients = argument(2, 64).max(1);
    let rss_at_start = resident_bytes();

    // Four workers, so that tasks have threads to move between even on a small machine.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("cannot build the runtime");
    let tally = Arc::new(Tally::default());
    let (elapsed, failed_clients) = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("cannot listen on 127.0.0.1");
        let server = listener.local_addr().expect("a bound address");
        println!("serving on {server}");
        println!(
            "load: {requests} requests from {clients} clients, {PER_CONNECTION} per connection"
        );
        tokio::spawn(local::fresh_async(serve(listener)));

        let started = Instant::now();
        let tasks: Vec<_> = (0..clients as u64)
            .map(|c| {
                let ids = (1..=requests as u64)
                    .filter(|id| id % clients as u64 == c)
                    .collect();
                let tally = Arc::clone(&tally);
                // Bounded: a lost response fails the run instead of hanging it.
                tokio::spawn(async move {
                    let load = client(server, ids, &tally);
                    tokio::time::timeout(Duration::from_secs(60), load).await
                })
            })
            .collect();
        let mut failed = 0;
        for task in tasks {
            match task.await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(error))) => {
                    println!("a client failed: {error}");
                    failed += 1;
                }
                Ok(Err(_)) => {
                    println!("a client timed out");
                    failed += 1;
                }
                Err(error) => {
                    println!("a client panicked: {error}");
                    failed += 1;
                }
            }
        }
        (started.elapsed(), failed)
    });
    let rss_at_end = resident_bytes();

    let checked = tally.checked.load(Ordering::Relaxed);
    let mismatches = tally.mismatches.load(Ordering::Relaxed);
    let moved = tally.moved.load(Ordering::Relaxed);
    println!(
        "checked {checked} responses: {mismatches} mismatches; {moved} handlers resumed on \
         another worker thread after their sleep"
    );
    println!(
        "throughput: {:.0} requests/s ({checked} in {:.2} s)",
        checked as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "memory held: RSS {} (at start {})",
        mib(rss_at_end),
        mib(rss_at_start)
    );
    if mismatches == 0 && failed_clients == 0 && checked == requests {
        println!("PASS: every response carried only its own request's data");
        ExitCode::SUCCESS
    } else {
        println!(
            "FAIL: {mismatches} mismatches, {failed_clients} failed clients, {} responses missing",
            requests - checked
        );
        ExitCode::FAILURE
    }
}
