use local::thread_local_struct;
use std::net::TcpStream;
use std::time::Instant;

#[thread_local_struct]
pub struct Connection {
    stream: TcpStream,
    #[init(0)]
    requests: u64,
    opened: Instant,
}

fn main() {}
