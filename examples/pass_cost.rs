fn cpu() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_utime.tv_sec as f64
        + ru.ru_utime.tv_usec as f64 / 1e6
        + ru.ru_stime.tv_sec as f64
        + ru.ru_stime.tv_usec as f64 / 1e6
}
fn main() {
    ffmpeg_next::init().unwrap();
    let files: Vec<std::path::PathBuf> = std::env::args().skip(2).map(Into::into).collect();
    let faces: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let t = cpu();
    let mut dec = 0;
    for path in &files {
        let size = std::fs::metadata(path).unwrap().len();
        let info = engine::probe::probe(path, size).unwrap();
        let s = engine::frames::sample_full(path, &info, 16, faces).unwrap();
        dec += s.decoded_frames;
    }
    println!(
        "sample_full faces={faces}: {:.3} cpu-s per video, {} decoded",
        (cpu() - t) / files.len() as f64,
        dec / files.len()
    );
}
