use local::thread_local_struct;

#[thread_local_struct(inherit)]
#[derive(Clone)]
pub struct RequestId {
    #[init(1)]
    value: u64,
}

#[thread_local_struct(per_thread)]
pub struct Buffer {
    bytes: Vec<u8>,
}

#[thread_local_struct(init = Trace::new, inherit)]
#[derive(Clone)]
pub struct Trace {
    depth: u32,
}

impl Trace {
    fn new() -> Self {
        Trace { depth: 1 }
    }
}

#[thread_local_struct(per_thread, init = Pool::new,)]
pub struct Pool {
    size: usize,
}

impl Pool {
    fn new() -> Self {
        Pool { size: 4 }
    }
}

fn main() {
    assert_eq!(RequestId::value(), 1);
    Buffer::with_mut(|b| b.bytes.push(1));
    assert_eq!(Buffer::bytes(), [1]);
    assert_eq!(Trace::depth(), 1);
    assert_eq!(Pool::size(), 4);
}
