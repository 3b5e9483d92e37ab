use local::thread_local_struct;

#[thread_local_struct]
#[derive(Clone)]
pub struct Counter(#[init(10)] u64, String);

fn main() {
    assert_eq!(Counter::with(|c| c.0), 10);
    Counter::with_mut(|c| {
        c.0 += 1;
        c.1.push_str("one");
    });
    let Counter(n, s) = Counter::get();
    assert_eq!((n, s.as_str()), (11, "one"));
    std::thread::spawn(|| assert_eq!(Counter::with(|c| c.0), 10))
        .join()
        .unwrap();
}
