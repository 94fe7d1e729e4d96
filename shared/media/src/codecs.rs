//! RFC 6381 `codecs` strings (what `MediaSource.isTypeSupported` and `<source type>`
//! take) from the decoder configuration records both containers carry: the ISO-BMFF
//! sample entry's box, or the same record as a Matroska track's `CodecPrivate`.

/// `avc1.PPCCLL`: profile, constraint flags and level of an `avcC` record
/// (ISO/IEC 14496-15 §5.3.3.1; its bytes 1..4).
pub fn avc(entry: &str, profile: u8, compatibility: u8, level: u8) -> String {
    format!("{entry}.{profile:02x}{compatibility:02x}{level:02x}")
}

/// The fields of an `hvcC` record that its codecs string names.
pub struct HevcConfig {
    pub profile_space: u8,
    pub tier_high: bool,
    pub profile_idc: u8,
    pub compatibility_flags: u32,
    pub constraint_flags: [u8; 6],
    pub level_idc: u8,
}

/// `hvc1.1.6.L93.B0` (ISO/IEC 14496-15 Annex E.3): profile space letter and profile,
/// the compatibility flags bit-reversed in hex, tier and level, then the constraint
/// bytes with trailing zero bytes left out.
pub fn hevc(entry: &str, c: &HevcConfig) -> String {
    let space = match c.profile_space {
        1 => "A",
        2 => "B",
        3 => "C",
        _ => "",
    };
    let tier = if c.tier_high { 'H' } else { 'L' };
    let mut s = format!(
        "{entry}.{space}{}.{:X}.{tier}{}",
        c.profile_idc,
        c.compatibility_flags.reverse_bits(),
        c.level_idc
    );
    let used = c
        .constraint_flags
        .iter()
        .rposition(|b| *b != 0)
        .map_or(0, |i| i + 1);
    for byte in &c.constraint_flags[..used] {
        s.push_str(&format!(".{byte:X}"));
    }
    s
}

/// An `hvcC` record's leading fields (bytes 1..13), as Matroska's `CodecPrivate` holds it.
pub fn hevc_config_of_record(record: &[u8]) -> Option<HevcConfig> {
    let r = record.get(..13)?;
    let mut constraint_flags = [0; 6];
    constraint_flags.copy_from_slice(&r[6..12]);
    Some(HevcConfig {
        profile_space: r[1] >> 6,
        tier_high: r[1] & 0x20 != 0,
        profile_idc: r[1] & 0x1f,
        compatibility_flags: u32::from_be_bytes([r[2], r[3], r[4], r[5]]),
        constraint_flags,
        level_idc: r[12],
    })
}

/// `vp09.PP.LL.DD`: profile, level and bit depth (the VP9 codec ISO-BMFF binding).
pub fn vp9(profile: u8, level: u8, bit_depth: u8) -> String {
    format!("vp09.{profile:02}.{level:02}.{bit_depth:02}")
}

/// `av01.P.LLT.DD` from an `av1C` record's bytes 1..3 (AV1 ISO-BMFF binding §5).
pub fn av1_of_record(record: &[u8]) -> Option<String> {
    let (b1, b2) = (*record.get(1)?, *record.get(2)?);
    let profile = b1 >> 5;
    let level = b1 & 0x1f;
    let tier = if b2 & 0x80 != 0 { 'H' } else { 'M' };
    let bit_depth = match (b2 & 0x40 != 0, b2 & 0x20 != 0) {
        (true, true) => 12,
        (true, false) => 10,
        _ => 8,
    };
    Some(format!("av01.{profile}.{level:02}{tier}.{bit_depth:02}"))
}

/// `mp4a.OO.A`: the MPEG-4 object type in hex, then (for MPEG-4 Audio, 0x40) the audio
/// object type of the AudioSpecificConfig.
pub fn mp4a(object_type: u8, audio_object_type: Option<u8>) -> String {
    match audio_object_type {
        Some(aot) if object_type == 0x40 && aot > 0 => format!("mp4a.40.{aot}"),
        _ => format!("mp4a.{object_type:02x}"),
    }
}

/// The audio object type an AudioSpecificConfig starts with (5 bits; 31 escapes to
/// 32 + the next 6 bits).
pub fn audio_object_type(config: &[u8]) -> Option<u8> {
    let first = config.first()? >> 3;
    if first != 31 {
        return Some(first);
    }
    let next = ((config.first()? & 0x07) << 3) | (config.get(1)? >> 5);
    Some(32 + next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_as_browsers_and_ffmpeg_write_them() {
        assert_eq!(avc("avc1", 0x64, 0, 0x1f), "avc1.64001f");
        assert_eq!(avc("avc1", 0x42, 0xc0, 0x1e), "avc1.42c01e");
        let main10 = HevcConfig {
            profile_space: 0,
            tier_high: false,
            profile_idc: 1,
            compatibility_flags: 0x6000_0000,
            constraint_flags: [0xb0, 0, 0, 0, 0, 0],
            level_idc: 93,
        };
        assert_eq!(hevc("hvc1", &main10), "hvc1.1.6.L93.B0");
        assert_eq!(vp9(0, 10, 8), "vp09.00.10.08");
        assert_eq!(
            av1_of_record(&[0x81, 0x04, 0x0c, 0]).unwrap(),
            "av01.0.04M.08"
        );
        assert_eq!(av1_of_record(&[0x81, 0x2d, 0xcc]).unwrap(), "av01.1.13H.10");
        assert_eq!(mp4a(0x40, Some(2)), "mp4a.40.2");
        assert_eq!(mp4a(0x6b, None), "mp4a.6b");
        assert_eq!(audio_object_type(&[0x12, 0x10]), Some(2));
        assert_eq!(audio_object_type(&[0xf8, 0x20]), Some(33));
    }
}
