//! Real video files for tests and benchmarks: the ffmpeg-made sample MP4 (4 s, H.264 +
//! AAC, `moov` first), padded to any size with a top-level `free` box — still a valid
//! ISO-BMFF file that Reel reads as that same video, so large uploads stay cheap to make.

/// `infra/server/tests/fixtures/sample.mp4`: what [`padded_mp4`] starts with.
pub const SAMPLE_MP4: &[u8] = include_bytes!("../../server/tests/fixtures/sample.mp4");

/// The smallest size [`padded_mp4`] makes: the sample and an empty `free` box.
pub const MIN_PADDED: usize = SAMPLE_MP4.len() + 8;

/// The sample MP4 followed by a `free` box filling it up to exactly `size` bytes (at
/// least [`MIN_PADDED`]; boxes over 4 GiB take the 64-bit size form).
pub fn padded_mp4(size: usize) -> Vec<u8> {
    assert!(
        size >= MIN_PADDED,
        "a padded MP4 is at least {MIN_PADDED} bytes"
    );
    let mut file = Vec::with_capacity(size);
    file.extend_from_slice(SAMPLE_MP4);
    file.extend_from_slice(&free_box_header(size - SAMPLE_MP4.len()));
    file.resize(size, 0);
    file
}

/// The header of a `free` box `len` bytes long in all (8 bytes, or 16 beyond 4 GiB).
pub fn free_box_header(len: usize) -> Vec<u8> {
    match u32::try_from(len) {
        Ok(small) => [&small.to_be_bytes()[..], b"free"].concat(),
        Err(_) => [
            &1u32.to_be_bytes()[..],
            b"free",
            &(len as u64).to_be_bytes(),
        ]
        .concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_makes_exactly_the_size_asked() {
        let file = padded_mp4(MIN_PADDED + 1000);
        assert_eq!(file.len(), MIN_PADDED + 1000);
        assert_eq!(&file[..SAMPLE_MP4.len()], SAMPLE_MP4);
        let free = &file[SAMPLE_MP4.len()..];
        assert_eq!(&free[..8], [&(1008u32).to_be_bytes()[..], b"free"].concat());
        assert_eq!(free_box_header(5 << 30).len(), 16);
    }
}
