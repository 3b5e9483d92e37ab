mod app {
    use local::thread_local_struct;

    #[thread_local_struct]
    #[derive(Clone)]
    pub struct Session {
        #[init(1000)]
        pub value: u32,
        #[init(String::from("main"))]
        pub(crate) owner: String,
        pub(super) hits: u64,
        secret: u64,
    }

    pub fn bump_secret() -> u64 {
        Session::set_secret(Session::secret() + 1);
        Session::secret()
    }
}

use app::Session;

fn main() {
    assert_eq!(Session::value(), 1000);
    assert_eq!(Session::owner(), "main");
    Session::set_hits(3);
    assert_eq!(Session::hits(), 3);
    assert_eq!(app::bump_secret(), 1);
    assert_eq!(Session::with(|s| s.value), 1000);
}
