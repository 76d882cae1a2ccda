//! The rasterizer's tests, and the helpers other renderer tests share.

use super::bands::*;
use super::*;

/// The canvas as levels 0..=3, row-major.
pub(crate) fn levels(c: &mut Canvas) -> Vec<u8> {
    let row_bytes = 1 + c.width.div_ceil(4);
    let mut packed = vec![0u8; row_bytes * c.height];
    c.resolve(&mut packed, row_bytes);
    let mut out = vec![0; c.width * c.height];
    for y in 0..c.height {
        for x in 0..c.width {
            out[y * c.width + x] = packed[y * row_bytes + 1 + x / 4] >> (6 - 2 * (x % 4)) & 3;
        }
    }
    out
}

#[test]
fn a_square_covers_exactly_its_pixels() {
    let mut c = Canvas::new(10, 10);
    c.fill(&[[2.0, 2.0], [6.0, 2.0], [6.0, 5.0], [2.0, 5.0]], &[4]);
    let cov = levels(&mut c);
    for y in 0..10 {
        for x in 0..10 {
            let inside = (2..6).contains(&x) && (2..5).contains(&y);
            assert_eq!(cov[y * 10 + x], if inside { 3 } else { 0 }, "({x},{y})");
        }
    }
    // Resolving cleared the cells.
    assert!(levels(&mut c).iter().all(|&v| v == 0));
}

#[test]
fn partly_covered_pixels_get_intermediate_levels_and_overlaps_merge() {
    let mut c = Canvas::new(8, 4);
    // Covers a third and two thirds of pixels 1 and 4.
    c.fill(
        &[[1.6667, 0.0], [4.6667, 0.0], [4.6667, 4.0], [1.6667, 4.0]],
        &[4],
    );
    assert_eq!(&levels(&mut c)[..8], &[0, 1, 3, 3, 2, 0, 0, 0]);
    // Two overlapping squares wound the same way: the union, not a sum.
    c.fill(&[[1.0, 0.0], [4.0, 0.0], [4.0, 4.0], [1.0, 4.0]], &[4]);
    c.fill(&[[3.0, 0.0], [6.0, 0.0], [6.0, 4.0], [3.0, 4.0]], &[4]);
    assert_eq!(&levels(&mut c)[8..16], &[0, 3, 3, 3, 3, 3, 0, 0]);
}

#[test]
fn counter_wound_polygons_erase_ink_but_not_background() {
    let mut c = Canvas::new(12, 4);
    c.fill(&[[1.0, 0.0], [7.0, 0.0], [7.0, 4.0], [1.0, 4.0]], &[4]);
    c.fill(&[[5.0, 0.0], [9.0, 0.0], [9.0, 4.0], [5.0, 4.0]], &[4]);
    // A cut from x = 3 to 11: erases where one shape is, leaves one
    // layer where two overlap, paints nothing where none is.
    c.fill(&[[3.0, 0.0], [3.0, 4.0], [11.0, 4.0], [11.0, 0.0]], &[4]);
    assert_eq!(&levels(&mut c)[..12], &[0, 3, 3, 0, 0, 3, 3, 0, 0, 0, 0, 0]);
}

#[test]
fn even_odd_reverses_ink_under_a_second_layer() {
    let mut c = Canvas::new(12, 4);
    c.set_rule(FillRule::EvenOdd);
    // A "letter" from 1 to 7 and a band from 4 to 10 over it: the
    // letter is ink outside the band, background inside it, where the
    // band is ink; a half-covered edge pixel is half ink either way.
    c.fill(&[[1.0, 0.0], [7.0, 0.0], [7.0, 4.0], [1.0, 4.0]], &[4]);
    c.fill(&[[4.0, 0.0], [10.5, 0.0], [10.5, 4.0], [4.0, 4.0]], &[4]);
    assert_eq!(&levels(&mut c)[..12], &[0, 3, 3, 3, 0, 0, 0, 3, 3, 3, 2, 0]);
    // The rule stays until set again; nonzero merges the same shapes.
    c.fill(&[[1.0, 0.0], [7.0, 0.0], [7.0, 4.0], [1.0, 4.0]], &[4]);
    c.fill(&[[4.0, 0.0], [10.5, 0.0], [10.5, 4.0], [4.0, 4.0]], &[4]);
    assert_eq!(&levels(&mut c)[..12], &[0, 3, 3, 3, 0, 0, 0, 3, 3, 3, 2, 0]);
    c.set_rule(FillRule::NonZero);
    c.fill(&[[1.0, 0.0], [7.0, 0.0], [7.0, 4.0], [1.0, 4.0]], &[4]);
    c.fill(&[[4.0, 0.0], [10.5, 0.0], [10.5, 4.0], [4.0, 4.0]], &[4]);
    assert_eq!(&levels(&mut c)[..12], &[0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 0]);
}

#[test]
fn computed_bands_reverse_contrast_with_one_pixel_edges() {
    let mut c = Canvas::new(8, 16);
    // Horizontal bands 8 px apart, the top edge of one at y = 2: rows
    // 2..6 and 10..14 are band. A "letter" over columns 2..5, all rows.
    c.fill(&[[2.0, 0.0], [5.0, 0.0], [5.0, 16.0], [2.0, 16.0]], &[4]);
    c.set_bands(8.0, |_| 2.0, |y| y);
    let cov = levels(&mut c);
    for y in 0..16 {
        let band = (2..6).contains(&y) || (10..14).contains(&y);
        for x in 0..8 {
            let letter = (2..5).contains(&x);
            let want = if band != letter { 3 } else { 0 };
            assert_eq!(cov[y * 8 + x], want, "({x},{y})");
        }
    }
    // Half a pixel off: the edge rows are half covered.
    c.set_bands(8.0, |_| 2.5, |y| y);
    let cov = levels(&mut c);
    assert_eq!(cov[2 * 8], 2);
    assert_eq!(cov[6 * 8], 2);
    // Bands stay until cleared; without them the canvas is blank.
    c.clear_bands();
    assert!(levels(&mut c).iter().all(|&v| v == 0));
}

#[test]
fn moved_bands_shift_inside_shapes_and_half_a_period_is_the_reversal() {
    // The bands and "letter" of the test above.
    let letter = [[2.0, 0.0], [5.0, 0.0], [5.0, 16.0], [2.0, 16.0]];
    let mut c = Canvas::new(8, 16);
    c.fill(&letter, &[4]);
    c.set_bands(8.0, |_| 2.0, |y| y);
    let reversed = levels(&mut c);
    c.fill(&letter, &[4]);
    c.set_bands(8.0, |_| 2.0, |y| y);
    c.set_band_shift(0.5);
    assert_eq!(levels(&mut c), reversed);
    // A quarter period (2 rows): inside the letter the bands are rows
    // 4..8 and 12..16 (top edge moved from 2 down to 4), outside as before.
    c.fill(&letter, &[4]);
    c.set_bands(8.0, |_| 2.0, |y| y);
    c.set_band_shift(0.25);
    let cov = levels(&mut c);
    for y in 0..16 {
        for x in 0..8 {
            let band = if (2..5).contains(&x) {
                (4..8).contains(&y) || (12..16).contains(&y)
            } else {
                (2..6).contains(&y) || (10..14).contains(&y)
            };
            assert_eq!(cov[y * 8 + x], if band { 3 } else { 0 }, "({x},{y})");
        }
    }
    // New bands forget the shift; a half-covered column blends the two.
    c.fill(&[[2.5, 0.0], [5.0, 0.0], [5.0, 16.0], [2.5, 16.0]], &[4]);
    c.set_bands(8.0, |_| 2.0, |y| y);
    c.set_band_shift(0.25);
    let cov = levels(&mut c);
    // Row 3: outside band, inside gap; row 5: both band.
    assert_eq!((cov[3 * 8 + 2], cov[3 * 8 + 3], cov[5 * 8 + 2]), (2, 0, 3));
    c.fill(&letter, &[4]);
    c.set_bands(8.0, |_| 2.0, |y| y);
    assert_eq!(levels(&mut c), reversed);
}

#[test]
fn strips_move_the_bands_and_shapes_in_them_move_them_back() {
    // Bands 8 rows apart with a top edge at 2 (rows 2..6, 10..14, ...),
    // moved a quarter period (2 rows) by shapes and strips.
    let letter = [[2.0, 0.0], [5.0, 0.0], [5.0, 24.0], [2.0, 24.0]];
    let bands = |c: &mut Canvas| {
        c.set_bands(8.0, |_| 2.0, |y| y);
        c.set_band_shift(0.25);
    };
    let mut c = Canvas::new(8, 24);
    bands(&mut c);
    let unmoved = levels(&mut c);
    c.fill(&[[0.0, 0.0], [8.0, 0.0], [8.0, 24.0], [0.0, 24.0]], &[4]);
    bands(&mut c);
    let moved = levels(&mut c);
    // A strip where the bands' own coordinate (down - top = y + 0.5 - 2
    // at a row's middle) lies within 6.5..14.5: rows 8..16, either
    // way round.
    for strip in [[6.5, 14.5], [14.5, 6.5]] {
        bands(&mut c);
        c.set_strips(&[strip]);
        let cov = levels(&mut c);
        for y in 0..24 {
            let expected = if (8..16).contains(&y) {
                &moved
            } else {
                &unmoved
            };
            assert_eq!(cov[y * 8..][..8], expected[y * 8..][..8], "row {y}");
        }
    }
    // A letter inside the strip moves the bands back, and outside it
    // moves them as before.
    c.fill(&letter, &[4]);
    bands(&mut c);
    c.set_strips(&[[6.5, 14.5]]);
    let cov = levels(&mut c);
    c.fill(&letter, &[4]);
    bands(&mut c);
    let plain = levels(&mut c);
    for y in 0..24 {
        for x in 0..8 {
            let i = y * 8 + x;
            if (8..16).contains(&y) {
                // In the strip: the letter and the rest swap.
                let swapped = if (2..5).contains(&x) {
                    unmoved[i]
                } else {
                    moved[i]
                };
                assert_eq!(cov[i], swapped, "({x},{y})");
            } else {
                assert_eq!(cov[i], plain[i], "({x},{y})");
            }
        }
    }
    // Two overlapping strips cancel where they overlap; new bands forget
    // the strips.
    bands(&mut c);
    c.set_strips(&[[6.5, 14.5], [10.5, 30.0]]);
    let cov = levels(&mut c);
    for y in 0..24 {
        let in_strip = (8..12).contains(&y) || (16..24).contains(&y);
        let expected = if in_strip { &moved } else { &unmoved };
        assert_eq!(cov[y * 8..][..8], expected[y * 8..][..8], "row {y}");
    }
    bands(&mut c);
    assert_eq!(levels(&mut c), unmoved);
}

/// `band_cover` as first written, from the phase itself: the
/// reference that the faster form must match bit for bit.
fn band_cover_reference(phase: u16, gain: i16, scale: i16, ramp: i16) -> i16 {
    let centred = phase.wrapping_sub(16384) as i16;
    let sign = centred >> 15;
    let from_middle = (centred ^ sign).wrapping_sub(sign) as u16;
    let inside = (16384u16.wrapping_sub(from_middle) as i16).clamp(-ramp, ramp);
    let ramped = ((i32::from(inside) * i32::from(gain)) >> 16) as i16;
    (FULL as i16 / 2 + ramped.wrapping_mul(scale)).clamp(0, FULL as i16)
}

#[test]
fn band_cover_matches_its_reference_at_every_phase() {
    // Band spacings from narrow to wider than the largest picture's,
    // through every gain shift: every phase, with the parameters that
    // `set_bands` derives.
    let mut c = Canvas::new(8, 8);
    let mut spacing = 3.0f32;
    while spacing < 600.0 {
        c.set_bands(spacing, |_| 0.0, |y| y);
        let per_pixel = PERIOD / spacing;
        let edge = Edge::new(per_pixel);
        // The ramp as first written: one pixel either side of the edge.
        let ramp = per_pixel.ceil().min(16384.0) as i16;
        let (gain, limit, scale) = (c.band_columns[0].gain[0], c.band_limit, 1 << c.band_shift);
        for phase in 0..=u16::MAX {
            let centred = phase.wrapping_sub(QUARTER) as i16;
            assert_eq!(
                FULL as i16 / 2 + band_cover(centred, gain, limit, scale),
                band_cover_reference(phase, edge.gain, 1 << edge.shift, ramp),
                "spacing {spacing} phase {phase}"
            );
        }
        spacing *= 1.07;
    }
}

#[test]
fn shallow_edges_spread_exact_area() {
    // A triangle whose long edges cross many columns per scanline:
    // the area under each row sums exactly, so nothing leaks to the
    // right of the shape.
    let mut c = Canvas::new(40, 6);
    c.fill(&[[1.3, 0.2], [38.7, 2.9], [2.1, 5.6]], &[3]);
    let cov = levels(&mut c);
    for y in 0..6 {
        assert_eq!(cov[y * 40 + 39], 0, "row {y} leaks");
    }
    let ink: u32 = cov.iter().map(|&v| u32::from(v)).sum();
    // The triangle's area is about 101 px (3 per full pixel).
    let area = 0.5 * ((38.7f32 - 1.3) * (5.6 - 0.2) - (2.1 - 1.3) * (2.9 - 0.2));
    assert!((ink as f32 / 3.0 - area).abs() < 2.0, "{ink} vs {area}");
}

#[test]
fn shapes_outside_the_canvas_are_clipped_without_panic() {
    let mut c = Canvas::new(9, 4);
    c.fill(
        &[[-5.0, -5.0], [20.0, -3.0], [20.0, 9.0], [-5.0, 9.0]],
        &[4],
    );
    assert!(levels(&mut c).iter().all(|&v| v == 3));
    c.fill(&[[f32::MAX, 0.0], [-1e30, 1e30], [3.0, f32::MIN]], &[3]);
    c.fill(&[[f32::NAN, 1.0], [2.0, f32::INFINITY], [3.0, 2.0]], &[3]);
    levels(&mut c);
    // Contour ends past the points are ignored, not a panic.
    c.fill(&[[1.0, 1.0], [2.0, 2.0]], &[5]);
}

/// `blend` as first written, in 32-bit lanes from the winding itself:
/// the reference that the 16-bit form must match bit for bit.
fn blend_reference(outside: i16, inside: i16, sum: i16) -> i16 {
    let phase = (sum as u16) & (2 * FULL as u16 - 1);
    let shape = i32::from(phase.min(2 * FULL as u16 - phase));
    let (outside, inside) = (i32::from(outside), i32::from(inside));
    let mixed = outside + (((inside - outside) * shape) >> FULL.trailing_zeros());
    (mixed + FULL / 2) as i16
}

#[test]
fn blend_matches_its_reference_and_needs_no_clamp() {
    let half = FULL as i16 / 2;
    // Every winding gives a share within 0..=FULL that folds like the
    // reference's.
    for sum in i16::MIN..=i16::MAX {
        let share = shape_share(sum);
        assert!((0..=FULL as i16).contains(&share), "sum {sum}");
        assert_eq!(
            blend(-half, half, share),
            blend_reference(-half, half, sum) - half
        );
    }
    // Every pair of band coverages (every difference, at both ends of the
    // range) at every share: the same value, and one within range, so
    // that `level_in_range` may skip the clamp.
    for outside in [-half, -half + 1, -1, 0, 1, half - 1, half] {
        for inside in -half..=half {
            for sum in 0..=FULL as i16 {
                let got = blend(outside, inside, shape_share(sum)) + half;
                assert_eq!(
                    got,
                    blend_reference(outside, inside, sum),
                    "{outside} {inside} {sum}"
                );
                assert!((0..=FULL as i16).contains(&got));
                assert_eq!(level_in_range(got), level(got));
            }
        }
    }
}
