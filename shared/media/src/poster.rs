//! Poster images: JPEG or WebP, checked by their header (magic bytes and dimensions)
//! when they land, not by the type the client claimed.

/// The largest poster accepted, in bytes (the page makes them at most 150 KB).
pub const MAX_BYTES: u64 = 2 * 1024 * 1024;

/// Bytes of a poster's beginning that hold its type and dimensions (a JPEG's frame
/// header follows its EXIF and tables; 64 KiB holds them for any poster the page makes).
pub const HEADER_BYTES: usize = 64 * 1024;

/// The largest side a poster may have (the page scales them to 640 px wide).
pub const MAX_SIDE: usize = 4096;

/// Poster media types accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PosterType {
    Webp,
    Jpeg,
}

impl PosterType {
    pub fn parse(media_type: &str) -> Option<Self> {
        match media_type.trim().to_ascii_lowercase().as_str() {
            "image/webp" => Some(Self::Webp),
            "image/jpeg" => Some(Self::Jpeg),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webp => "image/webp",
            Self::Jpeg => "image/jpeg",
        }
    }
}

/// Why a landed poster is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PosterError {
    #[error("the image is not a JPEG or WebP file")]
    NotAnImage,
    #[error("the image is not of the type it was uploaded as")]
    WrongType,
    #[error("the image's dimensions are out of range")]
    BadDimensions,
}

/// What `header` (an image's first bytes) is: a JPEG or WebP image of sane dimensions,
/// as (type, width, height).
pub fn inspect(header: &[u8]) -> Result<(PosterType, u32, u32), PosterError> {
    let found = match imagesize::image_type(header) {
        Ok(imagesize::ImageType::Webp) => PosterType::Webp,
        Ok(imagesize::ImageType::Jpeg) => PosterType::Jpeg,
        _ => return Err(PosterError::NotAnImage),
    };
    let size = imagesize::blob_size(header).map_err(|_| PosterError::NotAnImage)?;
    let in_range = |side: usize| (1..=MAX_SIDE).contains(&side);
    if !in_range(size.width) || !in_range(size.height) {
        return Err(PosterError::BadDimensions);
    }
    Ok((found, size.width as u32, size.height as u32))
}

/// [`inspect`], and the image must be of the `expected` (signed) type.
pub fn check(header: &[u8], expected: PosterType) -> Result<(u32, u32), PosterError> {
    let (found, width, height) = inspect(header)?;
    if found != expected {
        return Err(PosterError::WrongType);
    }
    Ok((width, height))
}
