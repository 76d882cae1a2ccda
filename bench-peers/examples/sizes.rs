//! Mean encoded size of each contender over 200 pictures at 160x60.
//!
//! Run with `cargo run --release --example sizes` (optionally with a
//! directory argument to also write one sample picture of each contender).

use qcaptcha_bench_peers as peers;

const PICTURES: usize = 200;

/// A peer that renders one fresh picture and returns the encoded file.
type Render = fn() -> Vec<u8>;

struct Row {
    name: String,
    format: &'static str,
    sizes: Vec<usize>,
}

impl Row {
    fn new(name: impl Into<String>, format: &'static str) -> Row {
        Row {
            name: name.into(),
            format,
            sizes: Vec::with_capacity(PICTURES),
        }
    }
}

fn main() {
    let sample_dir = std::env::args_os().nth(1).map(std::path::PathBuf::from);
    let save = |name: &str, ext: &str, bytes: &[u8]| {
        if let Some(dir) = &sample_dir {
            std::fs::write(dir.join(format!("{name}.{ext}")), bytes).expect("write sample");
        }
    };
    let mut rows = Vec::new();

    let mut png = Vec::new();
    for (compression, suffix, format) in [
        (qcaptcha::Compression::Stored, "", "PNG (stored)"),
        (qcaptcha::Compression::Fast, "_compressed", "PNG (deflated)"),
    ] {
        let mut generator = peers::qcaptcha_generator_with(compression);
        for code in peers::QCAPTCHA_TYPES {
            let kind = peers::qcaptcha_type(code);
            let mut row = Row::new(format!("qcaptcha_type{code}{suffix}"), format);
            for seed in 1..=PICTURES as u64 {
                generator.render_into(kind, seed, &mut png).expect("render");
                row.sizes.push(png.len());
            }
            save(&row.name, "png", &png);
            rows.push(row);
        }
    }

    let captcha_contenders: [(&str, Render); 3] = [
        ("captcha_readme_filters", peers::captcha_readme_filters),
        ("captcha_readme_md_noise", peers::captcha_readme_md_noise),
        ("captcha_no_filters", peers::captcha_no_filters),
    ];
    for (name, render) in captcha_contenders {
        let mut row = Row::new(name, "PNG");
        for _ in 0..PICTURES {
            png = render();
            row.sizes.push(png.len());
        }
        save(name, "png", &png);
        rows.push(row);
    }

    let mut base64_row = Row::new("captcha_rs_default", "base64 data URI");
    let mut jpeg_row = Row::new("captcha_rs_default", "JPEG (decoded)");
    for _ in 0..PICTURES {
        let uri = peers::captcha_rs_default();
        base64_row.sizes.push(uri.len());
        jpeg_row.sizes.push(peers::data_uri_payload_len(&uri));
    }
    rows.push(base64_row);
    rows.push(jpeg_row);

    let mut row = Row::new("captcha_rs_default_png", "PNG (image crate)");
    for _ in 0..PICTURES {
        peers::captcha_rs_default_png(&mut png);
        row.sizes.push(png.len());
    }
    save(&row.name, "png", &png);
    rows.push(row);

    println!(
        "mean encoded size over {PICTURES} pictures at {}x{}",
        peers::WIDTH,
        peers::HEIGHT
    );
    println!(
        "{:<26} {:<18} {:>10} {:>8} {:>8}",
        "contender", "format", "mean B", "min B", "max B"
    );
    for row in &rows {
        let mean = row.sizes.iter().sum::<usize>() as f64 / row.sizes.len() as f64;
        let min = row.sizes.iter().min().copied().unwrap_or(0);
        let max = row.sizes.iter().max().copied().unwrap_or(0);
        println!(
            "{:<26} {:<18} {:>10.1} {:>8} {:>8}",
            row.name, row.format, mean, min, max
        );
    }
}
