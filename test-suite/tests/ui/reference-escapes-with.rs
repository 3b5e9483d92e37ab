use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    #[init(1000)]
    value: u32,
}

fn main() {
    let r: &u32 = Session::with(|s| &s.value);
    println!("{r}");
}
