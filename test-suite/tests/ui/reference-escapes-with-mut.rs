use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    names: Vec<String>,
}

fn main() {
    let names: &mut Vec<String> = Session::with_mut(|s| &mut s.names);
    names.push("worker".to_owned());
}
