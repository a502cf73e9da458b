//! Real tiny media files served at the simulators' result URLs.
//!
//! - [`mp4()`]: an ISO-BMFF file with one H.264 (Constrained Baseline) video track at one
//!   frame per second: an IDR frame of I_PCM macroblocks (raw pixels, no transform coding
//!   needed) followed by all-skip P frames. `mvhd`, `tkhd` and `mdhd` carry exactly the
//!   requested duration, so a client's duration check and a player's preview both work.
//! - [`png()`]: a small gradient PNG (via the `png` crate).
//! - [`mp3()`]: silent MPEG-1 Layer III audio of a given length.
//! - [`mp4_facts()`]: the length and size an MP4 declares (`mvhd`, `tkhd`), how the
//!   simulators measure a video they are given.
//!
//! Sizes follow the aspect ratio (16:9 → 128×72, 9:16 → 72×128, 1:1 → 96×96, …) so a
//! client that checks orientation sees the right one.

/// Pixel size for an aspect ratio string such as `16:9` (`auto` and unknown → square),
/// with the long side 128 px and both sides even.
pub fn size_for_aspect(aspect: &str) -> (u32, u32) {
    let (w, h) = aspect
        .split_once(':')
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
        .filter(|(w, h)| *w > 0 && *h > 0)
        .unwrap_or((1, 1));
    if w == h {
        return (96, 96);
    }
    let long = 128u32;
    let (lw, sh) = if w > h { (w, h) } else { (h, w) };
    let short = ((long * sh / lw) & !1).max(16);
    if w > h {
        (long, short)
    } else {
        (short, long)
    }
}

/// A PNG of `width` × `height` with a gradient whose hue depends on `seed`.
pub fn png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = ::png::Encoder::new(&mut out, width, height);
    enc.set_color(::png::ColorType::Rgb);
    enc.set_depth(::png::BitDepth::Eight);
    let base = [
        (seed.wrapping_mul(67) % 256) as u8,
        (seed.wrapping_mul(139) % 256) as u8,
        (seed.wrapping_mul(29) % 256) as u8,
    ];
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            pixels.push(base[0].wrapping_add((x * 255 / width.max(1)) as u8));
            pixels.push(base[1].wrapping_add((y * 255 / height.max(1)) as u8));
            pixels.push(base[2]);
        }
    }
    // Writing to a Vec with consistent dimensions cannot fail; fall back to empty bytes
    // rather than panic if the encoder ever refuses.
    let written = enc
        .write_header()
        .and_then(|mut w| w.write_image_data(&pixels));
    if written.is_err() {
        return Vec::new();
    }
    out
}

/// An MP4 of `duration_ms` milliseconds at `width` × `height` (both even, ≥ 16).
pub fn mp4(width: u32, height: u32, duration_ms: u64, seed: u64) -> Vec<u8> {
    let width = width.max(16) & !1;
    let height = height.max(16) & !1;
    let duration_ms = duration_ms.max(1);
    let mbs_w = width.div_ceil(16);
    let mbs_h = height.div_ceil(16);
    let sps = h264::sps(mbs_w, mbs_h, mbs_w * 16 - width, mbs_h * 16 - height);
    let pps = h264::pps();

    // One frame per second; the last frame lasts whatever remains.
    let frames = duration_ms.div_ceil(1000) as u32;
    let mut samples: Vec<Vec<u8>> = Vec::with_capacity(frames as usize);
    samples.push(length_prefixed(&h264::idr_pcm(mbs_w, mbs_h, seed)));
    for i in 1..frames {
        samples.push(length_prefixed(&h264::p_skip(mbs_w * mbs_h, i)));
    }
    let mut deltas = vec![1000u32; frames as usize];
    if let Some(last) = deltas.last_mut() {
        let rem = (duration_ms % 1000) as u32;
        if rem != 0 {
            *last = rem;
        }
    }

    let ftyp = bx(
        b"ftyp",
        &cat(&[b"isom", &512u32.to_be_bytes(), b"isomiso2avc1mp41"]),
    );
    let build_moov = |chunk_offset: u32| {
        moov(
            width,
            height,
            duration_ms as u32,
            &sps,
            &pps,
            &samples,
            &deltas,
            chunk_offset,
        )
    };
    let moov_len = build_moov(0).len();
    let chunk_offset = (ftyp.len() + moov_len + 8) as u32;
    let moov = build_moov(chunk_offset);
    let mdat = bx(b"mdat", &samples.concat());
    cat(&[&ftyp, &moov, &mdat])
}

/// MPEG-1 Layer III at 48 kHz, 128 kbit/s, mono: every frame is exactly
/// 144 × 128000 / 48000 = 384 bytes (no padding slot) and lasts 1152 samples = 24 ms
/// (ISO/IEC 11172-3 §2.4.2.3).
const MP3_FRAME_BYTES: usize = 384;
const MP3_FRAME_MS: f64 = 1152.0 / 48.0;
/// Sync word, MPEG-1, Layer III, no CRC; bitrate index 9 (128 kbit/s), 48 kHz, no
/// padding; mono, no emphasis.
const MP3_HEADER: [u8; 4] = [0xFF, 0xFB, 0x94, 0xC0];

/// Silent MP3 audio at least `duration_ms` long (whole 24 ms frames). A frame whose side
/// information is all zero has no main data (`part2_3_length` 0): every decoder plays it
/// as silence.
pub fn mp3(duration_ms: u64) -> Vec<u8> {
    let frames = ((duration_ms.max(1) as f64) / MP3_FRAME_MS).ceil() as usize;
    let mut out = Vec::with_capacity(frames * MP3_FRAME_BYTES);
    for _ in 0..frames {
        out.extend_from_slice(&MP3_HEADER);
        out.resize(out.len() + MP3_FRAME_BYTES - MP3_HEADER.len(), 0);
    }
    out
}

/// The length of an [`mp3()`]-style constant-bitrate file, in milliseconds: its frames
/// times 24 ms; `None` unless every frame has the header [`mp3()`] writes.
pub fn mp3_duration_ms(bytes: &[u8]) -> Option<u64> {
    let mut frames = bytes.chunks_exact(MP3_FRAME_BYTES);
    if bytes.is_empty() || !frames.remainder().is_empty() {
        return None;
    }
    let n = frames.len();
    frames
        .all(|f| f.starts_with(&MP3_HEADER))
        .then(|| (n as f64 * MP3_FRAME_MS).round() as u64)
}

/// What an MP4 declares about itself: length and the first track's pixel size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mp4Facts {
    /// `mvhd` duration in milliseconds.
    pub duration_ms: u64,
    /// `tkhd` width and height in pixels (of the first track).
    pub width: u32,
    /// See `width`.
    pub height: u32,
}

/// Reads `moov/mvhd` (duration ÷ timescale) and the first `moov/trak/tkhd` (size) of an
/// ISO-BMFF file (ISO/IEC 14496-12 §8.2.2, §8.3.2; versions 0 and 1); `None` when the
/// file has no such boxes.
pub fn mp4_facts(bytes: &[u8]) -> Option<Mp4Facts> {
    let moov = child(bytes, b"moov")?;
    let mvhd = child(moov, b"mvhd")?;
    let (timescale, duration) = match *mvhd.first()? {
        0 => (
            u64::from(u32::from_be_bytes(mvhd.get(12..16)?.try_into().ok()?)),
            u64::from(u32::from_be_bytes(mvhd.get(16..20)?.try_into().ok()?)),
        ),
        1 => (
            u64::from(u32::from_be_bytes(mvhd.get(20..24)?.try_into().ok()?)),
            u64::from_be_bytes(mvhd.get(24..32)?.try_into().ok()?),
        ),
        _ => return None,
    };
    if timescale == 0 {
        return None;
    }
    let tkhd = child(child(moov, b"trak")?, b"tkhd")?;
    // The last 8 bytes are width and height, 16.16 fixed point, in both versions.
    let size = tkhd.get(tkhd.len().checked_sub(8)?..)?;
    Some(Mp4Facts {
        duration_ms: duration.saturating_mul(1000) / timescale,
        width: u32::from_be_bytes(size[..4].try_into().ok()?) >> 16,
        height: u32::from_be_bytes(size[4..].try_into().ok()?) >> 16,
    })
}

/// The payload of the first box of type `kind` directly inside `data` (32-bit sizes; the
/// simulators' files and the samples use no others).
fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    let mut at = 0usize;
    while at + 8 <= data.len() {
        let size = u32::from_be_bytes(data[at..at + 4].try_into().ok()?) as usize;
        if size < 8 || at + size > data.len() {
            return None;
        }
        if &data[at + 4..at + 8] == kind {
            return Some(&data[at + 8..at + size]);
        }
        at += size;
    }
    None
}

fn length_prefixed(nal: &[u8]) -> Vec<u8> {
    cat(&[&(nal.len() as u32).to_be_bytes(), nal])
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A box: 32-bit size, type, payload.
fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    cat(&[&((payload.len() + 8) as u32).to_be_bytes(), kind, payload])
}

/// A full box: version 0 and `flags`.
fn full(kind: &[u8; 4], flags: u32, payload: &[u8]) -> Vec<u8> {
    bx(kind, &cat(&[&(flags & 0x00FF_FFFF).to_be_bytes(), payload]))
}

fn be32(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_be_bytes()).collect()
}

const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];
const TIMESCALE: u32 = 1000;

#[allow(clippy::too_many_arguments)]
fn moov(
    width: u32,
    height: u32,
    duration: u32,
    sps: &[u8],
    pps: &[u8],
    samples: &[Vec<u8>],
    deltas: &[u32],
    chunk_offset: u32,
) -> Vec<u8> {
    let mvhd = full(
        b"mvhd",
        0,
        &cat(&[
            &be32(&[0, 0, TIMESCALE, duration, 0x0001_0000]),
            &[0x01, 0x00, 0, 0],
            &be32(&[0, 0]),
            &be32(&MATRIX),
            &be32(&[0; 6]),
            &be32(&[2]),
        ]),
    );
    let tkhd = full(
        b"tkhd",
        0x3, // enabled, in movie
        &cat(&[
            &be32(&[0, 0, 1, 0, duration, 0, 0]),
            &[0, 0, 0, 0, 0, 0, 0, 0], // layer, alternate group, volume, reserved
            &be32(&MATRIX),
            &be32(&[width << 16, height << 16]),
        ]),
    );
    let mdhd = full(
        b"mdhd",
        0,
        &cat(&[&be32(&[0, 0, TIMESCALE, duration]), &[0x55, 0xC4, 0, 0]]),
    );
    let hdlr = full(
        b"hdlr",
        0,
        &cat(&[&be32(&[0]), b"vide", &be32(&[0, 0, 0]), b"VideoHandler\0"]),
    );
    let vmhd = full(b"vmhd", 1, &[0; 8]);
    let dinf = bx(
        b"dinf",
        &full(b"dref", 0, &cat(&[&be32(&[1]), &full(b"url ", 1, &[])])),
    );
    let avcc = bx(
        b"avcC",
        &cat(&[
            &[1, sps[1], sps[2], sps[3], 0xFF, 0xE1],
            &(sps.len() as u16).to_be_bytes(),
            sps,
            &[1],
            &(pps.len() as u16).to_be_bytes(),
            pps,
        ]),
    );
    let mut compressor = [0u8; 32];
    let name = b"genmux-sim";
    compressor[0] = name.len() as u8;
    compressor[1..=name.len()].copy_from_slice(name);
    let avc1 = bx(
        b"avc1",
        &cat(&[
            &[0; 6],
            &1u16.to_be_bytes(),
            &[0; 16],
            &(width as u16).to_be_bytes(),
            &(height as u16).to_be_bytes(),
            &be32(&[0x0048_0000, 0x0048_0000, 0]),
            &1u16.to_be_bytes(),
            &compressor,
            &0x0018u16.to_be_bytes(),
            &(-1i16).to_be_bytes(),
            &avcc,
        ]),
    );
    let stsd = full(b"stsd", 0, &cat(&[&be32(&[1]), &avc1]));
    // stts: run-length of equal deltas.
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &d in deltas {
        match runs.last_mut() {
            Some((n, delta)) if *delta == d => *n += 1,
            _ => runs.push((1, d)),
        }
    }
    let stts_body: Vec<u32> = std::iter::once(runs.len() as u32)
        .chain(runs.iter().flat_map(|(n, d)| [*n, *d]))
        .collect();
    let stts = full(b"stts", 0, &be32(&stts_body));
    let stss = full(b"stss", 0, &be32(&[1, 1]));
    let stsc = full(b"stsc", 0, &be32(&[1, 1, samples.len() as u32, 1]));
    let sizes: Vec<u32> = std::iter::once(0)
        .chain(std::iter::once(samples.len() as u32))
        .chain(samples.iter().map(|s| s.len() as u32))
        .collect();
    let stsz = full(b"stsz", 0, &be32(&sizes));
    let stco = full(b"stco", 0, &be32(&[1, chunk_offset]));
    let stbl = bx(b"stbl", &cat(&[&stsd, &stts, &stss, &stsc, &stsz, &stco]));
    let minf = bx(b"minf", &cat(&[&vmhd, &dinf, &stbl]));
    let mdia = bx(b"mdia", &cat(&[&mdhd, &hdlr, &minf]));
    let trak = bx(b"trak", &cat(&[&tkhd, &mdia]));
    bx(b"moov", &cat(&[&mvhd, &trak]))
}

/// Just enough H.264 to write a decodable stream without an encoder.
mod h264 {
    const PROFILE_BASELINE: u8 = 66;
    const LEVEL: u8 = 30;
    const LOG2_MAX_FRAME_NUM: u32 = 8;

    #[derive(Default)]
    struct Bits {
        bytes: Vec<u8>,
        cur: u8,
        used: u8,
    }

    impl Bits {
        fn bit(&mut self, b: bool) {
            self.cur = (self.cur << 1) | b as u8;
            self.used += 1;
            if self.used == 8 {
                self.bytes.push(self.cur);
                self.cur = 0;
                self.used = 0;
            }
        }
        fn u(&mut self, n: u32, v: u32) {
            for i in (0..n).rev() {
                self.bit((v >> i) & 1 == 1);
            }
        }
        fn ue(&mut self, v: u32) {
            let x = v + 1;
            let len = 32 - x.leading_zeros();
            self.u(len - 1, 0);
            self.u(len, x);
        }
        fn se(&mut self, v: i32) {
            let k = if v > 0 {
                2 * v as u32 - 1
            } else {
                (-2 * v) as u32
            };
            self.ue(k);
        }
        fn align_zero(&mut self) {
            while self.used != 0 {
                self.bit(false);
            }
        }
        fn byte(&mut self, b: u8) {
            debug_assert_eq!(self.used, 0);
            self.bytes.push(b);
        }
        /// rbsp_trailing_bits: a one, then zeros to the byte boundary.
        fn finish(mut self) -> Vec<u8> {
            self.bit(true);
            self.align_zero();
            self.bytes
        }
    }

    /// NAL header plus the RBSP with emulation prevention bytes.
    fn nal(ref_idc: u8, kind: u8, rbsp: &[u8]) -> Vec<u8> {
        let mut out = vec![(ref_idc << 5) | kind];
        let mut zeros = 0;
        for &b in rbsp {
            if zeros >= 2 && b <= 3 {
                out.push(3);
                zeros = 0;
            }
            out.push(b);
            zeros = if b == 0 { zeros + 1 } else { 0 };
        }
        out
    }

    pub(super) fn sps(mbs_w: u32, mbs_h: u32, crop_right: u32, crop_bottom: u32) -> Vec<u8> {
        let mut b = Bits::default();
        b.u(8, PROFILE_BASELINE as u32);
        b.u(8, 0xC0); // constraint_set0 and set1: Constrained Baseline
        b.u(8, LEVEL as u32);
        b.ue(0); // seq_parameter_set_id
        b.ue(LOG2_MAX_FRAME_NUM - 4);
        b.ue(2); // pic_order_cnt_type 2: output order = decoding order
        b.ue(1); // max_num_ref_frames
        b.u(1, 0); // gaps_in_frame_num_value_allowed_flag
        b.ue(mbs_w - 1);
        b.ue(mbs_h - 1);
        b.u(1, 1); // frame_mbs_only_flag
        b.u(1, 1); // direct_8x8_inference_flag
        let crop = crop_right > 0 || crop_bottom > 0;
        b.u(1, crop as u32);
        if crop {
            // 4:2:0 progressive: crop units are 2 luma samples.
            b.ue(0);
            b.ue(crop_right / 2);
            b.ue(0);
            b.ue(crop_bottom / 2);
        }
        b.u(1, 0); // vui_parameters_present_flag
        nal(3, 7, &b.finish())
    }

    pub(super) fn pps() -> Vec<u8> {
        let mut b = Bits::default();
        b.ue(0); // pic_parameter_set_id
        b.ue(0); // seq_parameter_set_id
        b.u(1, 0); // entropy_coding_mode_flag: CAVLC
        b.u(1, 0); // bottom_field_pic_order_in_frame_present_flag
        b.ue(0); // num_slice_groups_minus1
        b.ue(0); // num_ref_idx_l0_default_active_minus1
        b.ue(0); // num_ref_idx_l1_default_active_minus1
        b.u(1, 0); // weighted_pred_flag
        b.u(2, 0); // weighted_bipred_idc
        b.se(0); // pic_init_qp_minus26
        b.se(0); // pic_init_qs_minus26
        b.se(0); // chroma_qp_index_offset
        b.u(1, 1); // deblocking_filter_control_present_flag
        b.u(1, 0); // constrained_intra_pred_flag
        b.u(1, 0); // redundant_pic_cnt_present_flag
        nal(3, 8, &b.finish())
    }

    /// An IDR picture of I_PCM macroblocks: a colour gradient chosen by `seed`.
    pub(super) fn idr_pcm(mbs_w: u32, mbs_h: u32, seed: u64) -> Vec<u8> {
        let mut b = Bits::default();
        b.ue(0); // first_mb_in_slice
        b.ue(7); // slice_type: I (all slices)
        b.ue(0); // pic_parameter_set_id
        b.u(LOG2_MAX_FRAME_NUM, 0); // frame_num
        b.ue(0); // idr_pic_id
        b.u(1, 0); // no_output_of_prior_pics_flag
        b.u(1, 0); // long_term_reference_flag
        b.se(0); // slice_qp_delta
        b.ue(1); // disable_deblocking_filter_idc: off (PCM needs none)
        let (w, h) = (mbs_w * 16, mbs_h * 16);
        let tint = (seed % 160) as u32;
        // Samples stay within 16..=235 so no byte is 0 (no emulation hazards, legal PCM).
        let clamp = |v: u32| (16 + v % 220) as u8;
        for my in 0..mbs_h {
            for mx in 0..mbs_w {
                b.ue(25); // mb_type I_PCM
                b.align_zero(); // pcm_alignment_zero_bit
                for y in 0..16 {
                    for x in 0..16 {
                        let (px, py) = (mx * 16 + x, my * 16 + y);
                        b.byte(clamp((px * 180 / w + py * 40 / h + tint) % 220));
                    }
                }
                for plane in 0..2u32 {
                    for y in 0..8 {
                        for _x in 0..8 {
                            let py = my * 16 + y * 2;
                            let v = if plane == 0 {
                                60 + py * 120 / h + tint / 2
                            } else {
                                180 - py * 100 / h + tint / 3
                            };
                            b.byte(clamp(v));
                        }
                    }
                }
            }
        }
        nal(3, 5, &b.finish())
    }

    /// A P picture where every macroblock is skipped (repeats the previous frame).
    pub(super) fn p_skip(mbs: u32, frame_num: u32) -> Vec<u8> {
        let mut b = Bits::default();
        b.ue(0); // first_mb_in_slice
        b.ue(5); // slice_type: P (all slices)
        b.ue(0); // pic_parameter_set_id
        b.u(LOG2_MAX_FRAME_NUM, frame_num % (1 << LOG2_MAX_FRAME_NUM));
        b.u(1, 0); // num_ref_idx_active_override_flag
        b.u(1, 0); // ref_pic_list_modification_flag_l0
        b.u(1, 0); // adaptive_ref_pic_marking_mode_flag
        b.se(0); // slice_qp_delta
        b.ue(1); // disable_deblocking_filter_idc
        b.ue(mbs); // mb_skip_run: the whole picture
        nal(2, 1, &b.finish())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn exp_golomb_codes() {
            let mut b = Bits::default();
            b.ue(0); // 1
            b.ue(1); // 010
            b.ue(2); // 011
            b.ue(3); // 00100
            b.se(-1); // ue(2) = 011
            assert_eq!(b.finish(), vec![0b1010_0110, 0b0100_0111]);
        }

        #[test]
        fn emulation_prevention() {
            assert_eq!(
                nal(0, 1, &[0, 0, 1, 0, 0, 0]),
                vec![1, 0, 0, 3, 1, 0, 0, 3, 0]
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_aspect() {
        assert_eq!(size_for_aspect("16:9"), (128, 72));
        assert_eq!(size_for_aspect("9:16"), (72, 128));
        assert_eq!(size_for_aspect("1:1"), (96, 96));
        assert_eq!(size_for_aspect("auto"), (96, 96));
        assert_eq!(size_for_aspect("21:9"), (128, 54));
    }

    #[test]
    fn an_mp4_declares_the_length_and_size_it_was_made_with() {
        let facts = mp4_facts(&mp4(720, 1280, 8_000, 3)).unwrap();
        assert_eq!(
            facts,
            Mp4Facts {
                duration_ms: 8_000,
                width: 720,
                height: 1280
            }
        );
        assert_eq!(
            mp4_facts(&mp4(128, 72, 5_500, 1)).unwrap().duration_ms,
            5_500
        );
        assert_eq!(mp4_facts(b"not an mp4 at all"), None);
        assert_eq!(mp4_facts(&png(8, 8, 1)), None);
    }

    #[test]
    fn an_mp3_lasts_what_was_asked_to_the_frame() {
        let a = mp3(5_000);
        // 209 frames of 24 ms: the first whole frame count reaching 5 s.
        assert_eq!(a.len(), 209 * MP3_FRAME_BYTES);
        assert_eq!(&a[..4], &MP3_HEADER);
        assert_eq!(mp3_duration_ms(&a), Some(5_016));
        assert_eq!(mp3_duration_ms(&a[..a.len() - 1]), None);
        assert_eq!(mp3_duration_ms(&[0u8; MP3_FRAME_BYTES]), None);
    }

    #[test]
    fn png_has_signature() {
        let p = png(8, 4, 1);
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
    }
}
