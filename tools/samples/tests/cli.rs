//! The `samples` program as a user runs it: help, errors and output.

use std::process::{Command, Output};

fn samples(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samples"))
        .args(args)
        .output()
        .expect("samples runs")
}

#[test]
fn help_goes_to_stdout_and_exits_zero() {
    for flag in ["--help", "-h"] {
        let out = samples(&[flag]);
        assert!(out.status.success(), "{flag}: {:?}", out.status);
        let help = String::from_utf8(out.stdout).expect("UTF-8 help");
        for needed in ["--out DIR", "--audio", "default: 10", "default: every type"] {
            assert!(help.contains(needed), "{flag} help lacks {needed:?}");
        }
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn count_zero_and_a_missing_out_are_errors() {
    for args in [&["--out", "x", "--count", "0"][..], &["--count", "3"][..]] {
        let out = samples(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
    }
}

#[test]
fn writes_pictures_clips_and_their_answers() {
    let dir = std::env::temp_dir().join(format!("qcaptcha-samples-{}", std::process::id()));
    let dir_arg = dir.to_str().expect("a UTF-8 temp dir");
    let out = samples(&[
        "--out", dir_arg, "--type", "6", "--count", "2", "--seed", "7", "--audio",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers = std::fs::read_to_string(dir.join("answers.tsv")).expect("answers.tsv");
    let audio = std::fs::read_to_string(dir.join("audio.tsv")).expect("audio.tsv");
    let lines: Vec<_> = answers.lines().collect();
    assert_eq!(lines.len(), 2);
    for (i, line) in lines.iter().enumerate() {
        let (file, answer) = line.split_once('\t').expect("file TAB answer");
        assert_eq!(file, format!("type6_{i:03}.png"));
        let captcha = qcaptcha::generate(qcaptcha::CaptchaType::Interference5, 7 + i as u64)
            .expect("type 6 renders");
        assert_eq!(answer, captcha.answer().as_str());
        assert_eq!(
            std::fs::read(dir.join(file)).expect("the PNG"),
            captcha.png()
        );
        assert!(audio.contains(&format!("type6_{i:03}.wav\t{answer}")));
        assert!(dir.join(format!("type6_{i:03}.wav")).exists());
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}
