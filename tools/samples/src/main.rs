//! Writes sample captchas as PNG files plus an `answers.tsv` (and, with
//! `--audio`, their spoken WAV clips plus an `audio.tsv`). `--help` says
//! everything; see [`args::HELP`].
//!
//! A package of its own that needs only the renderer, so that a newcomer's
//! first command compiles a few dozen crates, not the test stack.

mod args;

use std::fmt::Write as _;
use std::process::ExitCode;

use args::{Args, Command};
use qcaptcha::picture::{DEFAULT_HEIGHT, DEFAULT_WIDTH};
use qcaptcha::{generate_audio, random_seed, Generator, Options};

fn write_samples(args: &Args, seed: u64) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&args.out)?;
    let mut answers = String::new();
    let mut audio_answers = String::new();
    let (width, height) = (DEFAULT_WIDTH * args.scale, DEFAULT_HEIGHT * args.scale);
    let mut generator = Generator::new(Options::default().size(width, height))?;
    for &kind in &args.kinds {
        for i in 0..args.count {
            let seed = seed.wrapping_add(i);
            let stem = format!("type{}_{:03}", kind.code(), i);
            let captcha = generator.render(kind, seed)?;
            std::fs::write(args.out.join(format!("{stem}.png")), captcha.png())?;
            writeln!(answers, "{stem}.png\t{}", captcha.answer())?;
            if args.audio {
                let clip = generate_audio(kind, seed)?;
                std::fs::write(args.out.join(format!("{stem}.wav")), clip.wav())?;
                writeln!(audio_answers, "{stem}.wav\t{}", clip.answer())?;
            }
        }
    }
    std::fs::write(args.out.join("answers.tsv"), answers)?;
    if args.audio {
        std::fs::write(args.out.join("audio.tsv"), audio_answers)?;
    }
    Ok(())
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let seed = match args.seed {
        Some(seed) => seed,
        None => random_seed()?,
    };
    println!("seed {seed}");
    write_samples(args, seed)?;
    let n = args.kinds.len() as u64 * args.count;
    let audio = if args.audio {
        ", their WAV files and audio.tsv"
    } else {
        ""
    };
    println!(
        "wrote {n} captchas{audio} and answers.tsv to {}",
        args.out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    match args::parse(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{}", args::HELP);
            ExitCode::SUCCESS
        }
        Ok(Command::Write(args)) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("error: {e}\nusage: samples --out DIR [--type T] [--count N] [--seed S] [--scale S] [--audio] (--help for more)");
            ExitCode::from(2)
        }
    }
}
