//! `ThreadLocal` through the facade, with values that need a real OS resource (Miri, which
//! runs the core's own tests, has no sockets).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use local::ThreadLocal;

#[test]
fn each_thread_keeps_its_own_tcp_stream() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let threads = 4;
    // Echoes one byte back on every connection, so each client can check its own socket.
    let server = thread::spawn(move || {
        for stream in listener.incoming().take(threads) {
            let mut stream = stream.unwrap();
            let mut byte = [0];
            stream.read_exact(&mut byte).unwrap();
            stream.write_all(&byte).unwrap();
        }
    });
    let sockets: ThreadLocal<Option<TcpStream>> = ThreadLocal::new();
    let ports: Vec<u16> = thread::scope(|s| {
        let clients: Vec<_> = (0..threads)
            .map(|n| {
                let sockets = &sockets;
                s.spawn(move || {
                    sockets.set(Some(TcpStream::connect(address).unwrap()));
                    // The same socket on every access from this thread.
                    let port = sockets.with(|s| s.as_ref().unwrap().local_addr().unwrap().port());
                    let echoed = sockets.with_mut(|s| {
                        let s = s.as_mut().unwrap();
                        s.write_all(&[n as u8]).unwrap();
                        let mut byte = [0];
                        s.read_exact(&mut byte).unwrap();
                        byte[0]
                    });
                    assert_eq!(echoed, n as u8);
                    assert_eq!(
                        sockets.with(|s| s.as_ref().unwrap().local_addr().unwrap().port()),
                        port
                    );
                    port
                })
            })
            .collect();
        clients.into_iter().map(|c| c.join().unwrap()).collect()
    });
    server.join().unwrap();
    let mut distinct = ports.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), threads, "one socket per thread: {ports:?}");
    // The main thread has its own, empty slot.
    assert!(sockets.with(Option::is_none));
}
