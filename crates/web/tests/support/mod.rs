//! A real, playable MP4 written from scratch for the browser test: H.264 Constrained
//! Baseline, every frame an IDR picture made of I_PCM macroblocks (raw samples, so no
//! encoder is needed), in an ISO BMFF file with the `moov` box first.
//!
//! References: ITU-T H.264 §7.3 (SPS, PPS, slice header, `mb_type` 25 = I_PCM), ISO/IEC
//! 14496-15 (`avcC`), ISO/IEC 14496-12 (boxes).

/// An RBSP bit writer with Exp-Golomb codes.
struct Bits {
    out: Vec<u8>,
    cur: u8,
    n: u8,
}

impl Bits {
    fn new() -> Self {
        Bits {
            out: Vec::new(),
            cur: 0,
            n: 0,
        }
    }
    fn bit(&mut self, b: bool) {
        self.cur = (self.cur << 1) | b as u8;
        self.n += 1;
        if self.n == 8 {
            self.out.push(self.cur);
            self.cur = 0;
            self.n = 0;
        }
    }
    fn u(&mut self, bits: u32, v: u32) {
        for i in (0..bits).rev() {
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
        self.ue(if v > 0 {
            2 * v as u32 - 1
        } else {
            (-2 * v) as u32
        });
    }
    fn align_zero(&mut self) {
        while self.n != 0 {
            self.bit(false);
        }
    }
    fn trailing(mut self) -> Vec<u8> {
        self.bit(true);
        self.align_zero();
        self.out
    }
    fn bytes(&mut self, b: &[u8]) {
        assert_eq!(self.n, 0, "byte writes must be aligned");
        self.out.extend_from_slice(b);
    }
}

/// A NAL unit: header byte + RBSP with emulation prevention (H.264 §7.4.1).
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

const PROFILE: u8 = 66; // Baseline
const COMPAT: u8 = 0xC0; // constraint_set0 + set1: Constrained Baseline
const LEVEL: u8 = 30;

fn sps(mbs_w: u32, mbs_h: u32) -> Vec<u8> {
    let mut b = Bits::new();
    b.u(8, PROFILE as u32);
    b.u(8, COMPAT as u32);
    b.u(8, LEVEL as u32);
    b.ue(0); // seq_parameter_set_id
    b.ue(0); // log2_max_frame_num_minus4
    b.ue(2); // pic_order_cnt_type 2: order = decoding order
    b.ue(1); // max_num_ref_frames
    b.u(1, 0); // gaps_in_frame_num_value_allowed_flag
    b.ue(mbs_w - 1);
    b.ue(mbs_h - 1);
    b.u(1, 1); // frame_mbs_only_flag
    b.u(1, 1); // direct_8x8_inference_flag
    b.u(1, 0); // frame_cropping_flag
    b.u(1, 0); // vui_parameters_present_flag
    nal(3, 7, &b.trailing())
}

fn pps() -> Vec<u8> {
    let mut b = Bits::new();
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
    nal(3, 8, &b.trailing())
}

/// One IDR frame of I_PCM macroblocks: a bright bar moving right over a colour that
/// changes with `frame`, so playback is visible.
fn idr_frame(mbs_w: u32, mbs_h: u32, frame: u32, frames: u32) -> Vec<u8> {
    let width = mbs_w * 16;
    let mut b = Bits::new();
    b.ue(0); // first_mb_in_slice
    b.ue(7); // slice_type: I (all slices)
    b.ue(0); // pic_parameter_set_id
    b.u(4, 0); // frame_num
    b.ue(frame % 2); // idr_pic_id: consecutive IDR pictures differ
    b.u(1, 0); // no_output_of_prior_pics_flag
    b.u(1, 0); // long_term_reference_flag
    b.se(0); // slice_qp_delta
    b.ue(1); // disable_deblocking_filter_idc
    let bar_x = frame * width / frames.max(1);
    let cb = (60 + frame * 120 / frames.max(1)) as u8;
    let cr = (200 - frame * 120 / frames.max(1)) as u8;
    for my in 0..mbs_h {
        for mx in 0..mbs_w {
            b.ue(25); // mb_type I_PCM
            b.align_zero(); // pcm_alignment_zero_bit
            let mut luma = [0u8; 256];
            for y in 0..16 {
                for x in 0..16 {
                    let px = mx * 16 + x;
                    let py = my * 16 + y;
                    let on_bar = px >= bar_x && px < bar_x + 16;
                    // Samples stay within 16..235 (never 0).
                    luma[(y * 16 + x) as usize] = if on_bar {
                        235
                    } else {
                        (40 + (py * 2) % 120) as u8
                    };
                }
            }
            b.bytes(&luma);
            b.bytes(&[cb; 64]);
            b.bytes(&[cr; 64]);
        }
    }
    nal(3, 5, &b.trailing())
}

fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn full(kind: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&flags.to_be_bytes()[1..]);
    b.extend_from_slice(body);
    boxed(kind, &b)
}

struct W(Vec<u8>);
impl W {
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
}

const MATRIX: [u32; 9] = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000];

/// What the `moov` box describes: one video track whose samples sit in one chunk.
struct Track<'a> {
    width: u32,
    height: u32,
    sps: &'a [u8],
    pps: &'a [u8],
    sizes: &'a [u32],
    delta: u32,
    timescale: u32,
}

fn moov(t: &Track, mdat_offset: u32) -> Vec<u8> {
    let Track {
        width,
        height,
        sps,
        pps,
        sizes,
        delta,
        timescale,
    } = *t;
    let n = sizes.len() as u32;
    let duration = n * delta;
    let duration_ms = duration * 1000 / timescale;

    let mut mvhd = W(Vec::new());
    mvhd.u32(0)
        .u32(0)
        .u32(1000)
        .u32(duration_ms)
        .u32(0x0001_0000)
        .u16(0x0100)
        .u16(0)
        .u32(0)
        .u32(0);
    MATRIX.iter().for_each(|m| {
        mvhd.u32(*m);
    });
    (0..6).for_each(|_| {
        mvhd.u32(0);
    });
    mvhd.u32(2);

    let mut tkhd = W(Vec::new());
    tkhd.u32(0)
        .u32(0)
        .u32(1)
        .u32(0)
        .u32(duration_ms)
        .u32(0)
        .u32(0)
        .u16(0)
        .u16(0)
        .u16(0)
        .u16(0);
    MATRIX.iter().for_each(|m| {
        tkhd.u32(*m);
    });
    tkhd.u32(width << 16).u32(height << 16);

    let mut mdhd = W(Vec::new());
    mdhd.u32(0)
        .u32(0)
        .u32(timescale)
        .u32(duration)
        .u16(0x55C4)
        .u16(0);

    let mut hdlr = W(Vec::new());
    hdlr.u32(0)
        .raw(b"vide")
        .u32(0)
        .u32(0)
        .u32(0)
        .raw(b"VideoHandler\0");

    let mut avcc = W(Vec::new());
    avcc.raw(&[1, PROFILE, COMPAT, LEVEL, 0xFF, 0xE1])
        .u16(sps.len() as u16)
        .raw(sps)
        .raw(&[1])
        .u16(pps.len() as u16)
        .raw(pps);

    let mut avc1 = W(Vec::new());
    avc1.raw(&[0; 6])
        .u16(1)
        .u16(0)
        .u16(0)
        .u32(0)
        .u32(0)
        .u32(0)
        .u16(width as u16)
        .u16(height as u16)
        .u32(0x0048_0000)
        .u32(0x0048_0000)
        .u32(0)
        .u16(1);
    let mut name = [0u8; 32];
    name[0] = 6;
    name[1..7].copy_from_slice(b"genmux");
    avc1.raw(&name)
        .u16(0x0018)
        .u16(0xFFFF)
        .raw(&boxed(b"avcC", &avcc.0));

    let mut stsd = W(Vec::new());
    stsd.u32(1).raw(&boxed(b"avc1", &avc1.0));
    let mut stts = W(Vec::new());
    stts.u32(1).u32(n).u32(delta);
    let mut stsc = W(Vec::new());
    stsc.u32(1).u32(1).u32(n).u32(1);
    let mut stsz = W(Vec::new());
    stsz.u32(0).u32(n);
    sizes.iter().for_each(|s| {
        stsz.u32(*s);
    });
    let mut stco = W(Vec::new());
    stco.u32(1).u32(mdat_offset);

    let stbl = [
        full(b"stsd", 0, 0, &stsd.0),
        full(b"stts", 0, 0, &stts.0),
        full(b"stsc", 0, 0, &stsc.0),
        full(b"stsz", 0, 0, &stsz.0),
        full(b"stco", 0, 0, &stco.0),
    ]
    .concat();
    let dref = full(
        b"dref",
        0,
        0,
        &[&1u32.to_be_bytes()[..], &full(b"url ", 0, 1, &[])].concat(),
    );
    let minf = [
        full(b"vmhd", 0, 1, &[0; 8]),
        boxed(b"dinf", &dref),
        boxed(b"stbl", &stbl),
    ]
    .concat();
    let mdia = [
        full(b"mdhd", 0, 0, &mdhd.0),
        full(b"hdlr", 0, 0, &hdlr.0),
        boxed(b"minf", &minf),
    ]
    .concat();
    let trak = [full(b"tkhd", 0, 3, &tkhd.0), boxed(b"mdia", &mdia)].concat();
    boxed(
        b"moov",
        &[full(b"mvhd", 0, 0, &mvhd.0), boxed(b"trak", &trak)].concat(),
    )
}

/// An MP4 of `seconds` at 6 frames per second, `mbs_w`×`mbs_h` macroblocks.
pub fn tiny_mp4(mbs_w: u32, mbs_h: u32, seconds: u32) -> Vec<u8> {
    const FPS: u32 = 6;
    let frames = FPS * seconds;
    let (sps, pps) = (sps(mbs_w, mbs_h), pps());
    let samples: Vec<Vec<u8>> = (0..frames)
        .map(|f| {
            let nal = idr_frame(mbs_w, mbs_h, f, frames);
            // avcC lengthSizeMinusOne = 3: each NAL unit is prefixed by a 4-byte length.
            [&(nal.len() as u32).to_be_bytes()[..], &nal].concat()
        })
        .collect();
    let sizes: Vec<u32> = samples.iter().map(|s| s.len() as u32).collect();
    let mut ftyp = W(Vec::new());
    ftyp.raw(b"isom").u32(0x200).raw(b"isomiso2avc1mp41");
    let ftyp = boxed(b"ftyp", &ftyp.0);
    let (timescale, delta) = (FPS * 100, 100);
    // The moov size does not depend on the offset value, so measure it once.
    let track = Track {
        width: mbs_w * 16,
        height: mbs_h * 16,
        sps: &sps,
        pps: &pps,
        sizes: &sizes,
        delta,
        timescale,
    };
    let moov_len = moov(&track, 0).len();
    let mdat_offset = (ftyp.len() + moov_len + 8) as u32;
    let moov = moov(&track, mdat_offset);
    [ftyp, moov, boxed(b"mdat", &samples.concat())].concat()
}
