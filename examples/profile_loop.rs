//! Renders one captcha type in a loop at 160x60 (or its audio clip), for
//! profilers that count instructions (`valgrind --tool=callgrind`) or
//! sample (`perf record`), which criterion's timing loop hides, and for
//! CPU time (`/usr/bin/time`) when the machine is too busy for criterion.
//!
//! ```text
//! cargo build --release --example profile_loop
//! valgrind --tool=callgrind target/release/examples/profile_loop 7 200
//! ```
//!
//! Arguments: captcha type (default 5), number of renders (default 20000),
//! and `audio` to render the audio clips instead (`AudioGenerator::render_into`,
//! seeds 1 to N, one generator: what `benches/audio.rs` times).

use qcaptcha::{AudioGenerator, CaptchaType, Generator, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let kind = CaptchaType::try_from(args.next().map_or(Ok(5), |s| s.parse::<i64>())?)?;
    let renders: u64 = args.next().map_or(Ok(20_000), |s| s.parse())?;
    if args.next().as_deref() == Some("audio") {
        let mut audio = AudioGenerator::new();
        let mut wav = Vec::new();
        let mut bytes = 0;
        for seed in 1..=renders {
            bytes += audio.render_into(kind, seed, &mut wav)?.len() + wav.len();
        }
        println!("{renders} audio clips of type {kind}, {bytes} bytes");
        return Ok(());
    }
    let mut generator = Generator::new(Options::default().size(160, 60))?;
    let mut png = Vec::new();
    let mut bytes = 0;
    for seed in 0..renders {
        bytes += generator.render_into(kind, seed, &mut png)?.len() + png.len();
    }
    println!("{renders} renders of type {kind}, {bytes} bytes");
    Ok(())
}
