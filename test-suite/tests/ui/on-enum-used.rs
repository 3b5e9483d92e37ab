use local::thread_local_struct;

#[thread_local_struct]
#[derive(Clone, Copy)]
pub enum Mode {
    Fast,
    Slow,
}

fn main() {
    let mode = Mode::Fast;
    Mode::set(Mode::Slow);
    let _ = matches!(mode, Mode::Slow);
}
