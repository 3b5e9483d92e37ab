use local::thread_local_struct;
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;

// `Option<TcpStream>` is not `Clone` and `Rc` is not `Send`: the struct still compiles, and
// only the getter of the non-`Clone` field is unusable.
#[thread_local_struct]
pub struct Connection {
    stream: Option<TcpStream>,
    label: Rc<str>,
    #[init(3)]
    retries: u32,
}

fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();

    assert_eq!(Connection::retries(), 3);
    assert_eq!(&*Connection::label(), "");
    Connection::set_label(Rc::from("db"));
    assert_eq!(&*Connection::label(), "db");

    assert!(Connection::with(|c| c.stream.is_none()));
    Connection::set_stream(Some(TcpStream::connect(address).unwrap()));
    let peer = Connection::with(|c| c.stream.as_ref().unwrap().peer_addr().unwrap());
    assert_eq!(peer, address);

    // Another thread has its own connection: none yet.
    std::thread::spawn(|| assert!(Connection::with(|c| c.stream.is_none())))
        .join()
        .unwrap();
}
