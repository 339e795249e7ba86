//! A staff card's poster (seed create_poster): a PNG with the card's name, position, company and contacts above the
//! mini-program code that opens the card, composed here so every client gets the same picture. Text is drawn through
//! `Typeface`, which the deployed font implements (`ab_glyph`) and unit tests replace with solid blocks.
use ab_glyph::{Font, FontVec, PxScale, ScaleFont};

use crate::domain::runtime::Card;

pub const WIDTH: u32 = 750;
pub const HEIGHT: u32 = 1100;
/// Bumped whenever the layout changes, so stored posters of the old layout are not served again.
pub const LAYOUT: &str = "card-poster/1";
/// The code image WeChat sends back is 280 to 1280 pixels wide; anything larger is not a code.
const CODE_MAX_SIDE: u32 = 2048;
const CODE_SIDE: u32 = 320;
const CODE_TOP: u32 = 680;
const MARGIN: f32 = 60.0;

const BACKGROUND: [u8; 3] = [255, 255, 255];
const BAND: [u8; 3] = [31, 78, 121];
const ON_BAND: [u8; 3] = [255, 255, 255];
const INK: [u8; 3] = [34, 34, 34];
const MUTED: [u8; 3] = [110, 110, 110];
const RULE: [u8; 3] = [225, 225, 225];

#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    #[error("no poster font has been uploaded (s3 key {0}); see README, Deploying")]
    FontMissing(String),
    #[error("the poster font cannot be read: {0}")]
    FontInvalid(String),
    #[error("the mini-program code image cannot be read: {0}")]
    CodeImage(String),
}

/// What the poster needs of a font: how far a character advances and its coverage, pixel by pixel.
pub trait Typeface {
    fn advance(&self, c: char, px: f32) -> f32;
    /// Calls `plot(x, y, coverage)` for the pixels of `c` drawn at `px` with its origin on (x, baseline).
    fn draw(&self, c: char, px: f32, x: f32, baseline: f32, plot: &mut dyn FnMut(i32, i32, f32));
}

/// A TrueType or OpenType font (or the first face of a collection), parsed once and kept for the process.
pub fn font_from_bytes(bytes: Vec<u8>) -> Result<FontVec, PosterError> {
    FontVec::try_from_vec_and_index(bytes, 0).map_err(|e| PosterError::FontInvalid(e.to_string()))
}

impl Typeface for FontVec {
    fn advance(&self, c: char, px: f32) -> f32 {
        self.as_scaled(PxScale::from(px))
            .h_advance(self.glyph_id(c))
    }

    fn draw(&self, c: char, px: f32, x: f32, baseline: f32, plot: &mut dyn FnMut(i32, i32, f32)) {
        let glyph = self
            .glyph_id(c)
            .with_scale_and_position(px, ab_glyph::point(x, baseline));
        if let Some(outline) = self.outline_glyph(glyph) {
            let at = outline.px_bounds().min;
            outline.draw(|gx, gy, coverage| {
                plot(at.x as i32 + gx as i32, at.y as i32 + gy as i32, coverage)
            });
        }
    }
}

struct Canvas {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Self {
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for _ in 0..width * height {
            rgb.extend_from_slice(&BACKGROUND);
        }
        Canvas { width, height, rgb }
    }

    fn blend(&mut self, x: i32, y: i32, color: [u8; 3], alpha: f32) {
        if x < 0 || y < 0 || x as u32 >= self.width || y as u32 >= self.height || alpha <= 0.0 {
            return;
        }
        let a = alpha.min(1.0);
        let at = ((y as u32 * self.width + x as u32) * 3) as usize;
        for (i, c) in color.iter().enumerate() {
            let old = self.rgb[at + i] as f32;
            self.rgb[at + i] = (old + (*c as f32 - old) * a).round() as u8;
        }
    }

    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32, color: [u8; 3]) {
        for row in y..(y + h).min(self.height) {
            for col in x..(x + w).min(self.width) {
                self.blend(col as i32, row as i32, color, 1.0);
            }
        }
    }

    fn text(
        &mut self,
        face: &dyn Typeface,
        text: &str,
        px: f32,
        x: f32,
        baseline: f32,
        color: [u8; 3],
    ) {
        let mut pen = x;
        for c in text.chars() {
            face.draw(c, px, pen, baseline, &mut |gx, gy, cov| {
                self.blend(gx, gy, color, cov)
            });
            pen += face.advance(c, px);
        }
    }

    /// `text` wrapped at `max_width` onto at most `lines` lines (by character: Chinese has no spaces), the last one
    /// ending in an ellipsis when the text does not fit; answers the baseline after the last line drawn.
    #[allow(clippy::too_many_arguments)]
    fn paragraph(
        &mut self,
        face: &dyn Typeface,
        text: &str,
        px: f32,
        baseline: f32,
        max_width: f32,
        lines: usize,
        color: [u8; 3],
    ) -> f32 {
        let mut baseline = baseline;
        for line in wrap(face, text, px, max_width, lines) {
            self.text(face, &line, px, MARGIN, baseline, color);
            baseline += px * 1.5;
        }
        baseline
    }

    /// The code image scaled into the square at (x, y) of `side` pixels, each target pixel the average of the
    /// source pixels it covers, transparent parts over the background.
    fn image(&mut self, code: &Rgba, x: u32, y: u32, side: u32) {
        for ty in 0..side {
            let (sy0, sy1) = span(ty, side, code.height);
            for tx in 0..side {
                let (sx0, sx1) = span(tx, side, code.width);
                let mut sum = [0f32; 3];
                let mut alpha = 0f32;
                let mut n = 0f32;
                for sy in sy0..sy1 {
                    for sx in sx0..sx1 {
                        let p = code.pixel(sx, sy);
                        let a = p[3] as f32 / 255.0;
                        for i in 0..3 {
                            sum[i] += p[i] as f32 * a;
                        }
                        alpha += a;
                        n += 1.0;
                    }
                }
                if alpha > 0.0 {
                    let color = sum.map(|s| (s / alpha).round() as u8);
                    self.blend((x + tx) as i32, (y + ty) as i32, color, alpha / n);
                }
            }
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .expect("header of a fixed-size RGB image");
        writer
            .write_image_data(&self.rgb)
            .expect("the canvas holds exactly width x height RGB pixels");
        writer.finish().expect("a PNG written to memory");
        out
    }
}

/// The source rows (or columns) target pixel `t` of `side` covers in a source of `len`: at least one.
fn span(t: u32, side: u32, len: u32) -> (u32, u32) {
    let start = t * len / side;
    let end = ((t + 1) * len / side).max(start + 1).min(len);
    (start.min(len - 1), end)
}

fn wrap(face: &dyn Typeface, text: &str, px: f32, max_width: f32, lines: usize) -> Vec<String> {
    let ellipsis = '…';
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut width = 0.0;
    let chars: Vec<char> = text.chars().filter(|c| !c.is_control()).collect();
    for (i, &c) in chars.iter().enumerate() {
        let w = face.advance(c, px);
        if width + w > max_width && !line.is_empty() {
            if out.len() + 1 == lines {
                // The last line allowed: end it with an ellipsis that fits.
                let room = max_width - face.advance(ellipsis, px);
                while !line.is_empty() && line_width(face, &line, px) > room {
                    line.pop();
                }
                line.push(ellipsis);
                out.push(line);
                return out;
            }
            out.push(std::mem::take(&mut line));
            width = 0.0;
        }
        line.push(c);
        width += w;
        if i + 1 == chars.len() {
            out.push(std::mem::take(&mut line));
        }
    }
    out
}

fn line_width(face: &dyn Typeface, line: &str, px: f32) -> f32 {
    line.chars().map(|c| face.advance(c, px)).sum()
}

/// An image as 8-bit RGBA, whatever colour type and depth its PNG had.
struct Rgba {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl Rgba {
    fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let at = ((y * self.width + x) * 4) as usize;
        [
            self.data[at],
            self.data[at + 1],
            self.data[at + 2],
            self.data[at + 3],
        ]
    }
}

/// The code WeChat made (asked for as a PNG with `is_hyaline`), decoded within a size a code can have.
fn decode_code(bytes: &[u8]) -> Result<Rgba, PosterError> {
    let bad = |e: &dyn std::fmt::Display| PosterError::CodeImage(e.to_string());
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(bytes),
        png::Limits {
            bytes: (CODE_MAX_SIDE * CODE_MAX_SIDE * 8) as usize,
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| bad(&e))?;
    let (width, height) = (reader.info().width, reader.info().height);
    if width == 0 || height == 0 || width > CODE_MAX_SIDE || height > CODE_MAX_SIDE {
        return Err(PosterError::CodeImage(format!(
            "{width}x{height} is not the size of a mini-program code"
        )));
    }
    let mut buf = vec![
        0;
        reader
            .output_buffer_size()
            .ok_or_else(|| bad(&"too large"))?
    ];
    let frame = reader.next_frame(&mut buf).map_err(|e| bad(&e))?;
    let pixels = &buf[..frame.buffer_size()];
    let data = match frame.color_type {
        png::ColorType::Rgba => pixels.to_vec(),
        png::ColorType::Rgb => pixels
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => pixels
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => pixels.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::Indexed => return Err(bad(&"an indexed image was not expanded")),
    };
    Ok(Rgba {
        width,
        height,
        data,
    })
}

/// The poster of `card`, with `code` (a PNG) the mini-program code that opens it.
pub fn compose(face: &dyn Typeface, card: &Card, code: &[u8]) -> Result<Vec<u8>, PosterError> {
    let code = decode_code(code)?;
    let mut canvas = Canvas::new(WIDTH, HEIGHT);
    let text_width = WIDTH as f32 - 2.0 * MARGIN;
    canvas.fill(0, 0, WIDTH, 260, BAND);
    canvas.paragraph(face, &card.name, 60.0, 130.0, text_width, 1, ON_BAND);
    canvas.paragraph(face, &card.position, 30.0, 200.0, text_width, 1, ON_BAND);
    let mut baseline = 330.0;
    if !card.company.is_empty() {
        baseline = canvas.paragraph(face, &card.company, 34.0, baseline, text_width, 2, INK) + 10.0;
    }
    for (label, value) in [
        ("电话", &card.phone),
        ("邮箱", &card.email),
        ("地址", &card.address),
    ] {
        if !value.is_empty() {
            baseline = canvas.paragraph(
                face,
                &format!("{label}  {value}"),
                26.0,
                baseline,
                text_width,
                2,
                MUTED,
            );
        }
    }
    canvas.fill(
        MARGIN as u32,
        CODE_TOP - 40,
        WIDTH - 2 * MARGIN as u32,
        2,
        RULE,
    );
    canvas.image(&code, (WIDTH - CODE_SIDE) / 2, CODE_TOP, CODE_SIDE);
    let caption = "长按识别小程序码，查看名片";
    let caption_width = line_width(face, caption, 24.0);
    canvas.text(
        face,
        caption,
        24.0,
        (WIDTH as f32 - caption_width) / 2.0,
        (CODE_TOP + CODE_SIDE + 60) as f32,
        MUTED,
    );
    Ok(canvas.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character a solid block of 0.6 em wide, from the baseline up 0.7 em.
    struct Blocks;

    impl Typeface for Blocks {
        fn advance(&self, _: char, px: f32) -> f32 {
            px * 0.6
        }
        fn draw(
            &self,
            _: char,
            px: f32,
            x: f32,
            baseline: f32,
            plot: &mut dyn FnMut(i32, i32, f32),
        ) {
            for y in (baseline - px * 0.7) as i32..baseline as i32 {
                for dx in 0..(px * 0.5) as i32 {
                    plot(x as i32 + dx, y, 1.0);
                }
            }
        }
    }

    fn png_of(width: u32, height: u32, color: png::ColorType, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, width, height);
        e.set_color(color);
        e.set_depth(png::BitDepth::Eight);
        let mut w = e.write_header().unwrap();
        w.write_image_data(data).unwrap();
        w.finish().unwrap();
        out
    }

    /// A black code on a transparent background: its left half opaque black, its right half transparent.
    fn half_black_code(side: u32) -> Vec<u8> {
        let mut data = Vec::new();
        for _ in 0..side {
            for x in 0..side {
                data.extend_from_slice(if x < side / 2 {
                    &[0, 0, 0, 255]
                } else {
                    &[0, 0, 0, 0]
                });
            }
        }
        png_of(side, side, png::ColorType::Rgba, &data)
    }

    fn card() -> Card {
        Card {
            name: "王小明".into(),
            position: "销售经理".into(),
            company: "示例科技有限公司".into(),
            phone: "13800000000".into(),
            email: "wang@example.com".into(),
            address: "上海市".into(),
            ..Card::default()
        }
    }

    fn decoded(poster: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut r = png::Decoder::new(std::io::Cursor::new(poster))
            .read_info()
            .unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        (info.width, info.height, buf)
    }

    fn rgb(data: &[u8], x: u32, y: u32) -> [u8; 3] {
        let at = ((y * WIDTH + x) * 3) as usize;
        [data[at], data[at + 1], data[at + 2]]
    }

    #[test]
    fn the_poster_is_a_png_with_the_band_the_text_and_the_code_scaled_into_its_square() {
        let poster = compose(&Blocks, &card(), &half_black_code(430)).unwrap();
        let (w, h, data) = decoded(&poster);
        assert_eq!((w, h), (WIDTH, HEIGHT));
        // The band, and the name's first block drawn on it in white.
        assert_eq!(rgb(&data, 5, 5), BAND);
        assert_eq!(rgb(&data, MARGIN as u32 + 5, 110), ON_BAND);
        // The company line in ink below the band.
        assert_eq!(rgb(&data, MARGIN as u32 + 5, 320), INK);
        // The code: its opaque half black, its transparent half the background.
        let left = (WIDTH - CODE_SIDE) / 2;
        assert_eq!(rgb(&data, left + 10, CODE_TOP + 100), [0, 0, 0]);
        assert_eq!(
            rgb(&data, left + CODE_SIDE - 10, CODE_TOP + 100),
            BACKGROUND
        );
        assert_eq!(rgb(&data, left - 5, CODE_TOP + 100), BACKGROUND);
    }

    #[test]
    fn different_cards_make_different_posters_and_the_same_card_the_same() {
        let code = half_black_code(280);
        let a = compose(&Blocks, &card(), &code).unwrap();
        assert_eq!(a, compose(&Blocks, &card(), &code).unwrap());
        let mut other = card();
        other.email = String::new();
        assert_ne!(a, compose(&Blocks, &other, &code).unwrap());
    }

    #[test]
    fn a_long_line_wraps_and_its_last_allowed_line_ends_in_an_ellipsis_within_the_width() {
        let text = "很长的公司名称".repeat(10);
        let lines = wrap(&Blocks, &text, 34.0, 630.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with('…'));
        for line in &lines {
            assert!(line_width(&Blocks, line, 34.0) <= 630.0, "{line}");
        }
        assert_eq!(wrap(&Blocks, "短", 34.0, 630.0, 2), vec!["短".to_string()]);
        assert!(wrap(&Blocks, "", 34.0, 630.0, 2).is_empty());
    }

    #[test]
    fn grey_and_rgb_codes_are_read_and_anything_else_is_refused_with_a_clear_error() {
        let grey = png_of(300, 300, png::ColorType::Grayscale, &vec![0; 300 * 300]);
        assert!(compose(&Blocks, &card(), &grey).is_ok());
        let rgb_code = png_of(300, 300, png::ColorType::Rgb, &vec![0; 300 * 300 * 3]);
        assert!(compose(&Blocks, &card(), &rgb_code).is_ok());
        for not_a_code in [
            b"\xff\xd8\xff\xe0 a jpeg".to_vec(),
            b"{\"errcode\":41030}".to_vec(),
            vec![],
        ] {
            match compose(&Blocks, &card(), &not_a_code) {
                Err(PosterError::CodeImage(_)) => {}
                other => panic!(
                    "expected a code image error, got {:?}",
                    other.map(|p| p.len())
                ),
            }
        }
        let huge = png_of(
            CODE_MAX_SIDE + 1,
            1,
            png::ColorType::Grayscale,
            &vec![0; CODE_MAX_SIDE as usize + 1],
        );
        assert!(matches!(
            compose(&Blocks, &card(), &huge),
            Err(PosterError::CodeImage(_))
        ));
    }

    #[test]
    fn a_file_that_is_no_font_is_refused() {
        assert!(matches!(
            font_from_bytes(b"not a font".to_vec()),
            Err(PosterError::FontInvalid(_))
        ));
    }
}
