use local::thread_local_struct;
use std::net::TcpStream;

#[thread_local_struct]
pub struct Connection {
    #[init(TcpStream::connect("127.0.0.1:80").ok())]
    stream: Option<TcpStream>,
    requests: u64,
}

fn main() {
    let _requests = Connection::requests();
    let _stream = Connection::stream();
}
