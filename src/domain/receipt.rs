//! Receipt files (KYP): the type told from the bytes, never from the name or the declared
//! Content-Type, and metadata removed from images before they are stored (EXIF can hold
//! the buyer's location, camera serial and name).

use crate::error::{Error, Result};

/// The largest receipt accepted (bytes).
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Pdf,
}

impl Kind {
    pub fn mime(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Pdf => "application/pdf",
        }
    }

    /// What the bytes are, by their magic number.
    pub fn sniff(bytes: &[u8]) -> Option<Kind> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Kind::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Kind::Png)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Kind::Pdf)
        } else {
            None
        }
    }
}

fn malformed(kind: Kind) -> Error {
    Error::validation("file", format!("is not a well-formed {} file", kind.mime()))
}

/// A JPEG without its APP1–APP15 (EXIF, XMP, ICC, maker notes, …) and COM segments; the
/// image data from the start of scan on is copied as is.
pub fn strip_jpeg(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut at = 2;
    loop {
        // Fill bytes (0xFF runs) may precede a marker.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return Err(malformed(Kind::Jpeg));
        };
        match marker {
            // Start of scan: the rest is entropy-coded data and the end marker.
            0xDA => {
                out.extend_from_slice(&bytes[at..]);
                return Ok(out);
            }
            // Markers without a length.
            0xD8 | 0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&bytes[at..at + 2]);
                at += 2;
            }
            0xD9 => {
                out.extend_from_slice(&bytes[at..at + 2]);
                return Ok(out);
            }
            _ => {
                let len = bytes.get(at + 2..at + 4).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])));
                let Some(len) = len.filter(|&l| l >= 2 && at + 2 + l <= bytes.len()) else {
                    return Err(malformed(Kind::Jpeg));
                };
                let metadata = matches!(marker, 0xE1..=0xEF | 0xFE);
                if !metadata {
                    out.extend_from_slice(&bytes[at..at + 2 + len]);
                }
                at += 2 + len;
            }
        }
    }
}

/// A PNG without its text, time and EXIF chunks (`tEXt`, `zTXt`, `iTXt`, `tIME`, `eXIf`).
pub fn strip_png(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..8]);
    let mut at = 8;
    while at < bytes.len() {
        let Some(header) = bytes.get(at..at + 8) else { return Err(malformed(Kind::Png)) };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        let end = at.checked_add(12).and_then(|e| e.checked_add(len)).filter(|&e| e <= bytes.len());
        let Some(end) = end else { return Err(malformed(Kind::Png)) };
        if !matches!(kind, b"tEXt" | b"zTXt" | b"iTXt" | b"tIME" | b"eXIf") {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
    Err(malformed(Kind::Png))
}

/// Checks an upload against what the client declared and returns what will be stored:
/// the sniffed type and the bytes without image metadata. A declared type that the bytes
/// are not (a renamed HTML or executable file) is refused.
pub fn accept(declared: Option<&str>, bytes: &[u8]) -> Result<(Kind, Vec<u8>)> {
    if bytes.is_empty() {
        return Err(Error::validation("file", "is empty"));
    }
    if bytes.len() > MAX_BYTES {
        return Err(Error::PayloadTooLarge(format!("a receipt may be at most {MAX_BYTES} bytes")));
    }
    let kind = Kind::sniff(bytes).ok_or_else(|| {
        Error::UnsupportedMediaType("a receipt must be a JPEG, PNG or PDF file (the content is none of these)".into())
    })?;
    let declared = declared.map(|d| d.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    if let Some(d) = declared.filter(|d| d != "application/octet-stream") {
        let same = d == kind.mime() || (kind == Kind::Jpeg && d == "image/jpg");
        if !same {
            return Err(Error::UnsupportedMediaType(format!(
                "the file was sent as {d} but its content is {}",
                kind.mime()
            )));
        }
    }
    let stored = match kind {
        Kind::Jpeg => strip_jpeg(bytes)?,
        Kind::Png => strip_png(bytes)?,
        Kind::Pdf => bytes.to_vec(),
    };
    Ok((kind, stored))
}

#[cfg(test)]
pub mod samples {
    /// A minimal JPEG with an APP0 (JFIF), an APP1 (EXIF with a GPS-like marker string), a
    /// comment, a DQT, and a scan.
    pub fn jpeg_with_exif() -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        j.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
        let exif = b"Exif\0\0GPS 51.5074N 0.1278W Canon-SN-1234";
        j.extend_from_slice(&[0xFF, 0xE1]);
        j.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        j.extend_from_slice(exif);
        j.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x07, b'A', b'n', b'n', b'!', b'!']);
        j.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x04, 0x00, 0x01]);
        j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0x56, 0xFF, 0xD9]);
        j
    }

    /// A PNG (IHDR, tEXt with an author, IDAT, IEND); CRCs are not checked by the stripper.
    pub fn png_with_text() -> Vec<u8> {
        let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
        let chunk = |p: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
            p.extend_from_slice(&(data.len() as u32).to_be_bytes());
            p.extend_from_slice(kind);
            p.extend_from_slice(data);
            p.extend_from_slice(&[0, 0, 0, 0]);
        };
        chunk(&mut p, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
        chunk(&mut p, b"tEXt", b"Author\0Ann Brown, 1 High Street");
        chunk(&mut p, b"IDAT", &[1, 2, 3]);
        chunk(&mut p, b"IEND", &[]);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn jpeg_metadata_is_removed_and_the_image_kept() {
        let (kind, stored) = accept(Some("image/jpeg"), &jpeg_with_exif()).unwrap();
        assert_eq!(kind, Kind::Jpeg);
        assert!(!contains(&stored, b"GPS") && !contains(&stored, b"Canon") && !contains(&stored, b"Ann!!"));
        assert!(contains(&stored, b"JFIF"));
        assert!(stored.ends_with(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0x56, 0xFF, 0xD9]));
        assert!(contains(&stored, &[0xFF, 0xDB, 0x00, 0x04, 0x00, 0x01]));
    }

    #[test]
    fn png_text_is_removed() {
        let (kind, stored) = accept(Some("image/png"), &png_with_text()).unwrap();
        assert_eq!(kind, Kind::Png);
        assert!(!contains(&stored, b"Ann Brown") && contains(&stored, b"IDAT") && contains(&stored, b"IEND"));
    }

    #[test]
    fn spoofed_broken_and_oversized_files_are_refused() {
        assert!(matches!(
            accept(Some("image/jpeg"), b"<html><script>alert(1)</script>"),
            Err(Error::UnsupportedMediaType(_))
        ));
        assert!(matches!(accept(Some("image/png"), b"MZ\x90\x00 executable"), Err(Error::UnsupportedMediaType(_))));
        assert!(matches!(accept(Some("image/png"), &jpeg_with_exif()), Err(Error::UnsupportedMediaType(_))));
        assert!(matches!(accept(None, &[0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF]), Err(Error::Validation { .. })));
        assert!(matches!(accept(None, &png_with_text()[..20]), Err(Error::Validation { .. })));
        assert!(matches!(accept(None, &vec![b'%'; MAX_BYTES + 1]), Err(Error::PayloadTooLarge(_))));
        assert_eq!(accept(Some("application/pdf"), b"%PDF-1.7\n%%EOF").unwrap().1, b"%PDF-1.7\n%%EOF");
        assert!(matches!(accept(None, b""), Err(Error::Validation { .. })));
    }
}
