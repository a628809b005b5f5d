//! Reading an order file as a stream: the request body as it arrives, a chunk of a big
//! file, or bytes already in memory. A CSV record or a JSON error names its physical line
//! in the input, a UTF-8 byte-order mark is skipped, and only the bytes not yet parsed are
//! held (the CSV reader's buffer and the record being read), never the whole input.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

use crate::error::{Error, Result};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What has passed through a [`Tee`]: the bytes since the last counted record (for line
/// numbers) and whether any was not whitespace.
#[derive(Default)]
struct Seen {
    lines: bool,
    window: Vec<u8>,
    /// Offset in the input of `window[0]`.
    base: u64,
    /// `window[..counted]` has been counted into `newlines`.
    counted: usize,
    newlines: u64,
    text: bool,
}

impl Seen {
    /// The physical line (1-based) of a record starting at input offset `byte`. Offsets
    /// must come in increasing order. The csv crate may place a record's start before the
    /// line ends that precede it (between a `\r` and its `\n`, or before skipped blank
    /// lines, depending on how the input was cut into reads); no record starts with a line
    /// end, so those are counted too.
    fn line_at(&mut self, byte: u64) -> u64 {
        let to = (byte.saturating_sub(self.base) as usize).min(self.window.len()).max(self.counted);
        let ends = self.window[to..].iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        let to = to + ends;
        self.newlines += self.window[self.counted..to].iter().filter(|&&b| b == b'\n').count() as u64;
        self.counted = to;
        // Drop what is counted once it is worth the copy.
        if self.counted >= 64 * 1024 {
            self.window.drain(..self.counted);
            self.base += self.counted as u64;
            self.counted = 0;
        }
        1 + self.newlines
    }
}

/// The physical line (1-based) of a CSV record starting at `byte` of `bytes`.
pub fn line_at(bytes: &[u8], byte: u64) -> u64 {
    let mut seen = Seen { window: bytes.to_vec(), ..Seen::default() };
    seen.line_at(byte)
}

/// Passes an input through, without its byte-order mark, noting what it saw in [`Seen`].
struct Tee<R> {
    inner: R,
    seen: Rc<RefCell<Seen>>,
    /// The first bytes, read ahead to look for a byte-order mark (`None`: not read yet).
    head: Option<Vec<u8>>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.head.is_none() {
            let mut head = [0u8; 3];
            let mut n = 0;
            while n < 3 {
                match self.inner.read(&mut head[n..])? {
                    0 => break,
                    k => n += k,
                }
            }
            self.head = Some(if &head[..n] == BOM { Vec::new() } else { head[..n].to_vec() });
        }
        let n = match self.head.as_mut() {
            Some(head) if !head.is_empty() => {
                let n = head.len().min(buf.len());
                buf[..n].copy_from_slice(&head[..n]);
                head.drain(..n);
                n
            }
            _ => self.inner.read(buf)?,
        };
        let mut seen = self.seen.borrow_mut();
        if !seen.text {
            seen.text = buf[..n].iter().any(|b| !b.is_ascii_whitespace());
        }
        if seen.lines {
            seen.window.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

fn tee<R: Read>(input: R, lines: bool) -> (Tee<R>, Rc<RefCell<Seen>>) {
    let seen = Rc::new(RefCell::new(Seen { lines, ..Seen::default() }));
    (Tee { inner: input, seen: seen.clone(), head: None }, seen)
}

/// The rows of a CSV order file with a header row, each with its physical line.
pub struct CsvRows<R: Read> {
    reader: csv::Reader<Tee<R>>,
    seen: Rc<RefCell<Seen>>,
}

impl<R: Read> CsvRows<R> {
    /// Opens the input and reads its header row ("line 1 is empty" when there is none, or
    /// when the whole input is blank).
    pub fn open(input: R) -> Result<(CsvRows<R>, csv::ByteRecord)> {
        let (tee, seen) = tee(input, true);
        let reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).buffer_capacity(64 * 1024).from_reader(tee);
        let mut rows = CsvRows { reader, seen };
        let mut header = csv::ByteRecord::new();
        let empty = || Error::validation("line 1", "is empty: expected the header row");
        if rows.next(&mut header)?.is_none() {
            return Err(empty());
        }
        if header.iter().all(|f| f.trim_ascii().is_empty()) {
            // Blank so far: an input of nothing but whitespace is an empty file.
            let mut rest = csv::ByteRecord::new();
            while rows.next(&mut rest)?.is_some() {}
            if !rows.seen.borrow().text {
                return Err(empty());
            }
        }
        Ok((rows, header))
    }

    /// The next record and the line it starts on; `None` at the end.
    pub fn next(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>> {
        match self.reader.read_byte_record(record) {
            Ok(true) => Ok(Some(record.position().map(|p| self.seen.borrow_mut().line_at(p.byte())).unwrap_or(0))),
            Ok(false) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    fn error(&self, e: csv::Error) -> Error {
        let line = e.position().map(|p| self.seen.borrow_mut().line_at(p.byte())).unwrap_or(0);
        match e.into_kind() {
            csv::ErrorKind::Utf8 { .. } => Error::validation(format!("line {line}"), "is not valid UTF-8"),
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                Error::validation(format!("line {line}"), format!("has {len} fields, the header has {expected_len}"))
            }
            csv::ErrorKind::Io(io) => read_error(io),
            _ => Error::validation(format!("line {line}"), "is not valid CSV"),
        }
    }
}

/// The error a failed read of the input is: the body ended or broke off (400), or it grew
/// past its limit (413, as [`TooLarge`] in the reader's error).
pub fn read_error(e: io::Error) -> Error {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<TooLarge>()) {
        Some(TooLarge(limit)) => Error::PayloadTooLarge(format!("the import body exceeds {limit} bytes")),
        None => Error::BadRequest(format!("the request body could not be read: {e}")),
    }
}

/// What a reader of a request body fails with once the body passes its limit (bytes).
#[derive(Debug)]
pub struct TooLarge(pub usize);

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the body is larger than {} bytes", self.0)
    }
}

impl std::error::Error for TooLarge {}

/// Parses a JSON document from the input (without its byte-order mark). An input of nothing
/// but whitespace is "body is empty"; malformed JSON a 400 naming its line and column.
pub fn json_value<R: Read>(input: R, empty: &str) -> Result<serde_json::Value> {
    let (tee, seen) = tee(input, false);
    let mut de = serde_json::Deserializer::from_reader(io::BufReader::with_capacity(64 * 1024, tee));
    let parsed = serde::Deserialize::deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| {
        if e.is_io() {
            let io: io::Error = e.into();
            read_error(io)
        } else if e.is_eof() && !seen.borrow().text {
            Error::validation("body", empty.to_owned())
        } else if e.is_syntax() || e.is_eof() {
            Error::BadRequest(format!("malformed JSON at line {}, column {}", e.line(), e.column()))
        } else {
            Error::validation("body", "is not valid JSON")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the input a few bytes at a time, as a request body arrives.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn lines(input: &[u8], step: usize) -> Result<Vec<(u64, Vec<String>)>> {
        let (mut rows, _) = CsvRows::open(Trickle(input, step))?;
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while let Some(line) = rows.next(&mut record)? {
            out.push((line, record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()));
        }
        Ok(out)
    }

    #[test]
    fn records_name_their_physical_lines_whatever_the_line_ends_and_chunks() {
        let input = b"\xEF\xBB\xBFa,b\r\n1,\"x\ny\"\r\n\r\n2,z\n3,w";
        for step in [1, 2, 3, 7, 1 << 20] {
            let got = lines(input, step).unwrap();
            let want = vec![
                (2, vec!["1".to_owned(), "x\ny".to_owned()]),
                (5, vec!["2".to_owned(), "z".to_owned()]),
                (6, vec!["3".to_owned(), "w".to_owned()]),
            ];
            assert_eq!(got, want, "read {step} bytes at a time");
        }
    }

    #[test]
    fn a_blank_input_is_empty_and_a_bad_byte_names_its_line() {
        for blank in [&b""[..], b"\n\n", b"  \r\n \t\n", b"\xEF\xBB\xBF"] {
            let e = lines(blank, 2).unwrap_err();
            assert_eq!(e.to_string(), Error::validation("line 1", "is empty: expected the header row").to_string());
        }
        assert!(lines(b" \n,\n", 2).is_ok(), "a comma is not blank");
        // Past the 64 KiB after which counted bytes are let go.
        let long = format!("a,b\n{}last,\"two\nlines\"\r\nend,1", "x,y\r\n".repeat(40_000));
        let got = lines(long.as_bytes(), 4096).unwrap();
        assert_eq!(got.len(), 40_002);
        assert_eq!(got[40_000].0, 40_002);
        assert_eq!(got[40_001], (40_004, vec!["end".to_owned(), "1".to_owned()]));
    }

    #[test]
    fn a_body_past_its_limit_is_413_and_a_broken_one_400() {
        struct Failing(io::Error);
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(self.0.kind(), self.0.to_string()))
            }
        }
        let too_large = io::Error::other(TooLarge(10));
        let e = CsvRows::open(io::Cursor::new(b"a,b".to_vec()).chain(Failing(too_large))).err().unwrap();
        assert!(matches!(e, Error::BadRequest(_)), "a plain read error: {e:?}");
        let e = read_error(io::Error::other(TooLarge(10)));
        assert_eq!(e.to_string(), Error::PayloadTooLarge("the import body exceeds 10 bytes".into()).to_string());
        let e = json_value(io::Cursor::new(b"[1,".to_vec()).chain(Failing(io::Error::other("reset"))), "is empty");
        assert!(matches!(e, Err(Error::BadRequest(m)) if m.contains("reset")));
    }

    #[test]
    fn json_errors_name_line_and_column_and_blank_is_empty() {
        let e = json_value(Trickle(b"[\n {\"a\": }]", 3), "is empty").unwrap_err();
        assert_eq!(e.to_string(), Error::BadRequest("malformed JSON at line 2, column 8".into()).to_string());
        let e = json_value(Trickle(b" \n ", 1), "is empty").unwrap_err();
        assert_eq!(e.to_string(), Error::validation("body", "is empty").to_string());
        let v = json_value(Trickle(b"\xEF\xBB\xBF[1, 2]", 2), "is empty").unwrap();
        assert_eq!(v, serde_json::json!([1, 2]));
    }
}
