fn main() {
    let kind = qcaptcha::CaptchaType::try_from(
        std::env::args().nth(1).map_or(5i64, |s| s.parse().unwrap()),
    )
    .unwrap();
    let mut g = qcaptcha::Generator::new(qcaptcha::Options::default().size(160, 60)).unwrap();
    let mut png = Vec::new();
    let mut n = 0usize;
    let n_iter: u64 = std::env::args().nth(2).map_or(20000, |s| s.parse().unwrap());
    for seed in 0..n_iter {
        n += g.render_into(kind, seed, &mut png).unwrap().len() + png.len();
    }
    println!("{n}");
}
