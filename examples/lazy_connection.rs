//! A port of Python Cookbook recipe 12.6, "Storing Thread-Specific State": one
//! `LazyConnection` object, shared by several threads, that opens a separate socket for
//! each thread and keeps it in a `threading.local()`.
//!
//! ```python
//! class LazyConnection:
//!     def __init__(self, address, family=AF_INET, type=SOCK_STREAM):
//!         self.address = address
//!         self.family = family
//!         self.type = type
//!         self.local = threading.local()
//!
//!     def __enter__(self):
//!         if hasattr(self.local, 'sock'):
//!             raise RuntimeError('Already connected')
//!         self.local.sock = socket(self.family, self.type)
//!         self.local.sock.connect(self.address)
//!         return self.local.sock
//!
//!     def __exit__(self, exc_ty, exc_val, tb):
//!         self.local.sock.close()
//!         del self.local.sock
//! ```
//!
//! `with conn as s:` becomes `let s = conn.connect()?;`: the guard closes the socket when
//! it goes out of scope. The recipe talks to www.python.org; to run offline, this program
//! starts its own small server on 127.0.0.1 and stops once it has served both threads.
//!
//! Run with `cargo run --example lazy_connection`.

use std::error::Error;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::marker::PhantomData;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::{Deref, DerefMut};
use std::sync::Barrier;
use std::thread;

use local::ThreadLocal;

/// The threads that share one `LazyConnection`, hence the connections the server expects.
const CLIENTS: usize = 2;

const REQUEST: &[u8] = b"GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n";

/// An error that can cross from a client thread back to `main`.
type BoxError = Box<dyn Error + Send + Sync>;

/// Opens one socket per thread, on demand, to `address`.
#[derive(Debug)]
struct LazyConnection {
    address: SocketAddr,
    local: ThreadLocal<Option<TcpStream>>,
}

/// Why [`LazyConnection::connect`] failed.
#[derive(Debug)]
enum ConnectionError {
    /// This thread already holds an open connection (Python's `RuntimeError`).
    AlreadyConnected,
    Io(io::Error),
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::AlreadyConnected => f.write_str("Already connected"),
            ConnectionError::Io(error) => write!(f, "connection failed: {error}"),
        }
    }
}

impl Error for ConnectionError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ConnectionError::AlreadyConnected => None,
            ConnectionError::Io(error) => Some(error),
        }
    }
}

impl From<io::Error> for ConnectionError {
    fn from(error: io::Error) -> Self {
        ConnectionError::Io(error)
    }
}

impl LazyConnection {
    fn new(address: SocketAddr) -> Self {
        LazyConnection {
            address,
            local: ThreadLocal::new(),
        }
    }

    /// Python's `__enter__`: connects this thread, unless it is connected already.
    fn connect(&self) -> Result<Connection<'_>, ConnectionError> {
        if self.local.with(Option::is_some) {
            return Err(ConnectionError::AlreadyConnected);
        }
        let stream = TcpStream::connect(self.address)?;
        // The thread-local owns the socket and only lends it inside a closure, so the guard
        // works on a second handle to the same socket.
        let handle = stream.try_clone()?;
        self.local.set(Some(stream));
        Ok(Connection {
            owner: self,
            stream: handle,
            _not_send: PhantomData,
        })
    }
}

/// This thread's open connection; dropping it is Python's `__exit__`.
#[derive(Debug)]
struct Connection<'a> {
    owner: &'a LazyConnection,
    stream: TcpStream,
    // `!Send`: dropping it must close the socket of the thread that opened it.
    _not_send: PhantomData<*const ()>,
}

impl Deref for Connection<'_> {
    type Target = TcpStream;

    fn deref(&self) -> &TcpStream {
        &self.stream
    }
}

impl DerefMut for Connection<'_> {
    fn deref_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        // Dropping the thread-local's handle here and `self.stream` right after closes the
        // socket, and lets this thread connect again.
        drop(self.owner.local.take());
    }
}

/// Answers `connections` HTTP-like requests, one after the other, then returns.
fn serve(listener: TcpListener, connections: usize) -> io::Result<()> {
    let body =
        "<html><body><p>Hello from the lazy_connection example.</p></body></html>\n".repeat(4);
    let response = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    for stream in listener.incoming().take(connections) {
        let stream = stream?;
        let mut request = BufReader::new(&stream);
        let mut line = String::new();
        // The request ends at its blank line (or when the client gives up).
        while request.read_line(&mut line)? > 0 && !line.trim_end().is_empty() {
            line.clear();
        }
        (&stream).write_all(response.as_bytes())?;
    }
    Ok(())
}

/// The recipe's `test(conn)`, run by each thread.
fn fetch(n: usize, conn: &LazyConnection, both_connected: &Barrier) -> Result<(), BoxError> {
    let name = format!("thread {n}");
    let connected = conn.connect();
    // Wait even if connecting failed, so that the other thread is never left waiting here.
    both_connected.wait();
    let mut sock = connected?;
    println!(
        "[{name}] connected from local port {}",
        sock.local_addr()?.port()
    );

    if n == 1 {
        // Python raises `RuntimeError` here; in Rust it is an ordinary `Err`.
        if let Err(error) = conn.connect() {
            println!("[{name}] connect() again while connected: {error}");
        }
    }

    sock.write_all(REQUEST)?;
    let mut response = Vec::new();
    sock.read_to_end(&mut response)?;
    println!("[{name}] Got {} bytes", response.len());
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let conn = LazyConnection::new(listener.local_addr()?);
    println!("server listening on {}", conn.address);
    // Not scoped: if a client fails, `main` returns its error and the process ends without
    // waiting for the server's remaining connections.
    let server = thread::spawn(move || serve(listener, CLIENTS));

    // Both threads hold a socket at the same moment, through the same `conn`, and neither
    // is told "Already connected": the socket lives in a thread-local.
    let both_connected = Barrier::new(CLIENTS);
    thread::scope(|s| {
        let clients: Vec<_> = (1..=CLIENTS)
            .map(|n| {
                let (conn, both_connected) = (&conn, &both_connected);
                s.spawn(move || fetch(n, conn, both_connected))
            })
            .collect();
        clients.into_iter().try_for_each(|client| {
            client
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    })?;

    server
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    // The threads' sockets were never visible here: `main` has a slot of its own.
    let main_connected = conn.local.with(Option::is_some);
    println!("[main] holds a socket: {main_connected}");
    Ok(())
}
