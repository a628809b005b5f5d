//! Big order files (`truview orders import`): read as a stream, validated completely before
//! anything is written, then imported in chunks of whole orders, each chunk one
//! transaction under its own idempotency key (`{key}:{chunk}`). A run killed half way is
//! resumed by running it again: committed chunks answer from their stored result, the rest
//! are imported, nothing is doubled. Memory stays bounded by the chunk size (plus 8 bytes
//! per order number, to refuse an order whose rows are not adjacent).

use std::collections::HashSet;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::core::Core;
use crate::domain::order::{IdempotencyKey, OrderInput};
use crate::error::{Error, Result};
use crate::kyp::formats::{self, Format};
use crate::kyp::orders::{self, decode_csv, decode_json, Idempotency, ImportAnswer, ImportCounts};
use crate::store;

/// Orders per chunk (one transaction each) unless told otherwise.
pub const DEFAULT_CHUNK: usize = 5000;

/// Turns one chunk of a file (CSV: the header and whole orders' rows; JSON: an array of
/// some of the orders) into orders, as `POST /api/v1/orders` would. The `i64` is when the
/// import started (Unix ms), which no order date may lie more than a day after.
pub type Decoder = std::sync::Arc<dyn Fn(&[u8], i64) -> Result<Vec<OrderInput>> + Send + Sync>;

/// How the file's orders are written.
#[derive(Clone)]
pub enum FileFormat {
    /// CSV with a header row; `order_column` names the order-number column, so that chunks
    /// end between orders.
    Csv { order_column: String, decode: Decoder },
    /// A JSON array of orders.
    Json { decode: Decoder },
}

impl FileFormat {
    /// The file's format: `format` if given, else told from its start — JSON by its first
    /// byte (WooCommerce by its fields), CSV by its header row (Shopify's or native).
    pub fn for_file(path: &Path, format: Option<Format>) -> Result<FileFormat> {
        let mut head = vec![0u8; 64 * 1024];
        let n = File::open(path).and_then(|mut f| f.read(&mut head)).map_err(|e| io_error(path, e))?;
        head.truncate(n);
        let first = head.iter().copied().find(|b| !b.is_ascii_whitespace() && !matches!(b, 0xEF | 0xBB | 0xBF));
        let json = first == Some(b'[');
        let format = match format {
            Some(f) => f,
            None if json => formats::detect_json_start(&head),
            None => formats::detect_csv(&head),
        };
        Ok(match format {
            Format::Native if json => FileFormat::Json { decode: std::sync::Arc::new(decode_json) },
            Format::Native => {
                FileFormat::Csv { order_column: "order_id".into(), decode: std::sync::Arc::new(decode_csv) }
            }
            Format::Shopify => {
                FileFormat::Csv { order_column: "Name".into(), decode: std::sync::Arc::new(formats::decode_shopify) }
            }
            Format::WooCommerce => FileFormat::Json { decode: std::sync::Arc::new(formats::decode_woocommerce) },
        })
    }
}

#[derive(Debug, Clone)]
pub struct BulkOptions {
    pub chunk_orders: usize,
    /// Idempotency key prefix; by default derived from the file's SHA-256, so running the
    /// same file again resumes it.
    pub key: Option<String>,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions { chunk_orders: DEFAULT_CHUNK, key: None }
    }
}

/// What a running import reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Pass 1 read this many bytes of the file (nothing written).
    Validating { bytes: u64, total: u64 },
    /// Pass 2 committed (or found already committed: `replayed`) chunk `index`.
    Committed { index: usize, orders: u64, replayed: bool, bytes: u64, total: u64 },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkSummary {
    pub key: String,
    pub chunks: usize,
    /// Orders in the file.
    pub orders: u64,
    /// Created or updated by this run.
    pub created: u64,
    pub updated: u64,
    /// Chunks an earlier run had committed.
    pub replayed_chunks: usize,
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::BadRequest(format!("cannot read {}: {e}", path.display()))
}

/// One chunk: its bytes as the decoder takes them, and how to map its positions back to
/// the file's (CSV line offset, JSON index offset).
struct Chunk {
    bytes: Vec<u8>,
    offset: u64,
    end_byte: u64,
}

/// Adds `offset` to every "line N" / "index N" in a validation error, so that an error in a
/// chunk names the file's line (or array index).
fn shift(e: Error, word: &str, offset: u64) -> Error {
    let fix = |text: &str| {
        let mut out = String::with_capacity(text.len() + 4);
        let mut rest = text;
        while let Some(at) = rest.find(word) {
            let (before, after) = rest.split_at(at + word.len());
            out.push_str(before);
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            match after[..digits].parse::<u64>() {
                Ok(n) => out.push_str(&(n + offset).to_string()),
                Err(_) => out.push_str(&after[..digits]),
            }
            rest = &after[digits..];
        }
        out.push_str(rest);
        out
    };
    match e {
        Error::Validation { field, detail } => Error::Validation { field: fix(&field), detail: fix(&detail) },
        other => other,
    }
}

/// Splits a CSV file into chunks of whole orders, streaming: records are read with the csv
/// crate, and each chunk's raw bytes are read back from the file, so its line numbers map
/// one to one onto the file's.
struct CsvChunks {
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    file: File,
    header: Vec<u8>,
    /// Line ends in the header, and in the file before the next chunk.
    header_lines: u64,
    lines_before: u64,
    order_col: usize,
    chunk_orders: usize,
    total: u64,
    pending: Option<csv::ByteRecord>,
    seen: HashSet<u64>,
    done: bool,
}

/// With CRLF line ends the csv reader places a record boundary between the `\r` and the
/// `\n`: a boundary at a `\n` moves past it, so every chunk keeps whole lines. (`raw` is a
/// handle of its own: a `try_clone` would share the reader's file offset.)
fn past_newline(raw: &mut File, path: &Path, at: u64) -> Result<u64> {
    raw.seek(SeekFrom::Start(at)).map_err(|e| io_error(path, e))?;
    let mut byte = [0u8; 1];
    let n = raw.read(&mut byte).map_err(|e| io_error(path, e))?;
    Ok(if n == 1 && byte[0] == b'\n' { at + 1 } else { at })
}

fn order_hash(id: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

impl CsvChunks {
    fn open(path: &Path, order_column: &str, chunk_orders: usize) -> Result<CsvChunks> {
        let file = File::open(path).map_err(|e| io_error(path, e))?;
        let total = file.metadata().map_err(|e| io_error(path, e))?.len();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(BufReader::with_capacity(1 << 20, file));
        let mut header_record = csv::ByteRecord::new();
        let has_header = reader.read_byte_record(&mut header_record).map_err(|e| csv_err(path, e))?;
        if !has_header {
            return Err(Error::validation("line 1", "is empty: expected the header row"));
        }
        let header_end = reader.position().byte();
        let mut raw = File::open(path).map_err(|e| io_error(path, e))?;
        let header_end = past_newline(&mut raw, path, header_end)?;
        let strip = |name: &[u8]| -> String {
            let name = name.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(name);
            String::from_utf8_lossy(name).trim().to_owned()
        };
        let order_col = header_record
            .iter()
            .position(|name| strip(name) == order_column)
            .ok_or_else(|| Error::validation("line 1", format!("lacks the required column {order_column}")))?;
        let mut header = vec![0; header_end as usize];
        raw.seek(SeekFrom::Start(0)).map_err(|e| io_error(path, e))?;
        raw.read_exact(&mut header).map_err(|e| io_error(path, e))?;
        let header_lines = newlines(&header);
        Ok(CsvChunks {
            path: path.to_owned(),
            reader,
            file: raw,
            header,
            header_lines,
            lines_before: header_lines,
            order_col,
            chunk_orders: chunk_orders.max(1),
            total,
            pending: None,
            seen: HashSet::new(),
            done: false,
        })
    }

    fn next_record(&mut self) -> Result<Option<csv::ByteRecord>> {
        if let Some(r) = self.pending.take() {
            return Ok(Some(r));
        }
        let mut record = csv::ByteRecord::new();
        match self.reader.read_byte_record(&mut record) {
            Ok(true) => Ok(Some(record)),
            Ok(false) => Ok(None),
            Err(e) => Err(csv_err(&self.path, e)),
        }
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        if self.done {
            return Ok(None);
        }
        let Some(first) = self.next_record()? else {
            self.done = true;
            return Ok(None);
        };
        let start = first.position().map(|p| p.byte()).unwrap_or(self.header.len() as u64);
        let mut orders = 0usize;
        let mut current: Option<Vec<u8>> = None;
        let mut chunk_ids = Vec::new();
        let mut record = Some(first);
        let end = loop {
            let Some(r) = record.take() else {
                self.done = true;
                break self.total;
            };
            let id = r.get(self.order_col).unwrap_or_default().to_vec();
            if current.as_deref() != Some(id.as_slice()) {
                if orders == self.chunk_orders {
                    let at = r.position().map(|p| p.byte()).unwrap_or(self.total);
                    self.pending = Some(r);
                    break at;
                }
                let h = order_hash(&id);
                if self.seen.contains(&h) {
                    let line = r.position().map(|p| line_in_file(&self.path, p.byte())).transpose()?.unwrap_or(0);
                    return Err(Error::validation(
                        format!("line {line}"),
                        format!(
                            "continues order {} whose rows ended in an earlier part of the file: the command imports \
                             whole orders in chunks, so rows of one order must be adjacent (sort the file by order \
                             number, or import it through POST /api/v1/orders)",
                            String::from_utf8_lossy(&id)
                        ),
                    ));
                }
                chunk_ids.push(h);
                orders += 1;
                current = Some(id);
            }
            record = self.next_record()?;
        };
        self.seen.extend(chunk_ids);
        let start_byte = past_newline(&mut self.file, &self.path, start)?;
        let end = if end == self.total { end } else { past_newline(&mut self.file, &self.path, end)? };
        let mut bytes = self.header.clone();
        let len = (end - start_byte) as usize;
        bytes.reserve(len);
        self.file.seek(SeekFrom::Start(start_byte)).map_err(|e| io_error(&self.path, e))?;
        (&mut self.file).take(len as u64).read_to_end(&mut bytes).map_err(|e| io_error(&self.path, e))?;
        // Chunk line n is file line n + offset: the header's lines are in both.
        let offset = self.lines_before - self.header_lines;
        self.lines_before += newlines(&bytes[self.header.len()..]);
        Ok(Some(Chunk { bytes, offset, end_byte: end }))
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// The physical line of the record starting at `byte` (error paths only: reads the file
/// up to there).
fn line_in_file(path: &Path, byte: u64) -> Result<u64> {
    // (A little past it: the line ends the record's start may sit before count too.)
    let mut head = Vec::with_capacity(byte as usize + 4096);
    File::open(path).and_then(|f| f.take(byte + 4096).read_to_end(&mut head)).map_err(|e| io_error(path, e))?;
    Ok(crate::kyp::input::line_at(&head, byte))
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    let line = match e.position().map(|p| line_in_file(path, p.byte())).transpose() {
        Ok(line) => line.unwrap_or(0),
        Err(io) => return io,
    };
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => Error::validation(format!("line {line}"), "is not valid UTF-8"),
        csv::ErrorKind::Io(io) => Error::BadRequest(format!("cannot read the file: {io}")),
        _ => Error::validation(format!("line {line}"), "is not valid CSV"),
    }
}

/// Splits a JSON array file into chunks of `chunk_orders` elements (the whole array is
/// parsed once: JSON files of shop APIs come in pages, not millions).
fn json_chunks(path: &Path, chunk_orders: usize) -> Result<Vec<Chunk>> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let values: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|e| {
        Error::BadRequest(format!("not a JSON array of orders (line {}, column {})", e.line(), e.column()))
    })?;
    if values.is_empty() {
        return Err(Error::validation("body", "must list at least one order"));
    }
    let total = bytes.len() as u64;
    let count = values.len();
    values
        .chunks(chunk_orders.max(1))
        .enumerate()
        .map(|(i, part)| {
            let bytes = serde_json::to_vec(part).map_err(Error::internal)?;
            let done = ((i + 1) * chunk_orders).min(count) as u64;
            Ok(Chunk { bytes, offset: (i * chunk_orders) as u64, end_byte: total * done / count as u64 })
        })
        .collect()
}

enum Chunks {
    Csv(Box<CsvChunks>),
    Json(std::vec::IntoIter<Chunk>),
}

impl Chunks {
    fn open(path: &Path, format: &FileFormat, chunk_orders: usize) -> Result<Chunks> {
        Ok(match format {
            FileFormat::Csv { order_column, .. } => {
                Chunks::Csv(Box::new(CsvChunks::open(path, order_column, chunk_orders)?))
            }
            FileFormat::Json { .. } => Chunks::Json(json_chunks(path, chunk_orders)?.into_iter()),
        })
    }

    fn next(&mut self) -> Result<Option<Chunk>> {
        match self {
            Chunks::Csv(c) => c.next_chunk(),
            Chunks::Json(it) => Ok(it.next()),
        }
    }

    /// The chunk's orders, with errors naming the file's line or index.
    fn decode(format: &FileFormat, chunk: &Chunk, received_at: i64) -> Result<Vec<OrderInput>> {
        match format {
            FileFormat::Csv { decode, .. } => {
                decode(&chunk.bytes, received_at).map_err(|e| shift(e, "line ", chunk.offset))
            }
            FileFormat::Json { decode } => {
                decode(&chunk.bytes, received_at).map_err(|e| shift(e, "index ", chunk.offset))
            }
        }
    }
}

fn file_sha256(path: &Path) -> Result<String> {
    let mut file = BufReader::with_capacity(1 << 20, File::open(path).map_err(|e| io_error(path, e))?);
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| io_error(path, e))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Imports a file of orders for `vendor_id`: validated whole first (a bad row anywhere
/// imports nothing), then committed chunk by chunk, resumable (see the module comment).
pub async fn import_file(
    core: &Core,
    vendor_id: &str,
    path: &Path,
    format: &FileFormat,
    opts: &BulkOptions,
    mut progress: impl FnMut(Progress),
) -> Result<BulkSummary> {
    let vendor = vendor_id.to_owned();
    core.db.run(move |conn| store::vendors::get(conn, &vendor)).await?;
    let key = match &opts.key {
        Some(k) => k.clone(),
        None => format!("file-{}", &file_sha256(path)?[..40]),
    };
    // Keys are `{key}:{chunk}`; check the longest one now rather than at the last chunk.
    IdempotencyKey::parse(format!("{key}:{}", u32::MAX).as_bytes())?;
    let received_at = core.now_ms();

    // Pass 1: every chunk decodes (nothing written). Chunks decode on the blocking pool, two
    // at a time, while the next one is read; results are taken in file order, so the
    // first bad row of the file is the one reported.
    let total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut summary = BulkSummary { key: key.clone(), ..Default::default() };
    let mut chunks = Chunks::open(path, format, opts.chunk_orders)?;
    let mut checking = std::collections::VecDeque::new();
    loop {
        let chunk = match chunks.next() {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                // An earlier chunk's bad row comes first.
                for (task, _) in checking {
                    joined(task).await?;
                }
                return Err(e);
            }
        };
        let end_byte = chunk.end_byte;
        let format = format.clone();
        checking.push_back((
            tokio::task::spawn_blocking(move || Chunks::decode(&format, &chunk, received_at).map(|o| o.len())),
            end_byte,
        ));
        if checking.len() == 2 {
            if let Some((task, bytes)) = checking.pop_front() {
                summary.orders += joined(task).await? as u64;
                summary.chunks += 1;
                progress(Progress::Validating { bytes, total });
            }
        }
    }
    for (task, bytes) in checking {
        summary.orders += joined(task).await? as u64;
        summary.chunks += 1;
        progress(Progress::Validating { bytes, total });
    }

    // Pass 2: commit chunk by chunk, each under its own key. Chunk n+1 is decoded and
    // prepared (contacts hashed, ids drawn) while chunk n is being written. The funnel
    // settings are read once, when the import starts.
    let funnel = crate::funnel::invitations::settings(core, vendor_id).await?;
    let mut chunks = Chunks::open(path, format, opts.chunk_orders)?;
    let mut writing = None;
    for index in 0.. {
        let next = match chunks.next() {
            Ok(Some(chunk)) => Chunks::decode(format, &chunk, received_at).and_then(|orders| {
                let count = orders.len() as u64;
                let chunk_key = IdempotencyKey::parse(format!("{key}:{index}").as_bytes())?;
                let idempotency = Idempotency::new(chunk_key, &chunk.bytes);
                Ok(Some((orders::prepare(core, vendor_id, &funnel, orders), idempotency, count, chunk.end_byte)))
            }),
            other => other.map(|_| None),
        };
        if let Some((task, index, count, bytes)) = writing.take() {
            let answer: ImportAnswer = task.await?;
            let counts: ImportCounts = serde_json::from_str(&answer.body).map_err(Error::internal)?;
            if answer.replayed {
                summary.replayed_chunks += 1;
            } else {
                summary.created += counts.created;
                summary.updated += counts.updated;
            }
            progress(Progress::Committed { index, orders: count, replayed: answer.replayed, bytes, total });
        }
        let Some((prepared, idempotency, count, bytes)) = next? else { break };
        let task = orders::commit(core, vendor_id, "cli", prepared, Some(idempotency), None);
        writing = Some((task, index, count, bytes));
    }
    Ok(summary)
}

async fn joined<T>(task: tokio::task::JoinHandle<Result<T>>) -> Result<T> {
    task.await.map_err(|e| Error::task_failed("decoding", e))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_line() {
        let e = shift(
            Error::validation("line 3, column email", "differs from line 2, the first row of this order"),
            "line ",
            5000,
        );
        match e {
            Error::Validation { field, detail } => {
                assert_eq!(field, "line 5003, column email");
                assert_eq!(detail, "differs from line 5002, the first row of this order");
            }
            other => panic!("{other:?}"),
        }
    }

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn csv_chunks_hold_whole_orders_and_keep_line_numbers() {
        let text = "order_id,sku,purchased_at\r\nA,s1,2026-01-01\r\nA,s2,2026-01-01\r\nB,s1,2026-01-02\r\n\"C\",\"s\n1\",2026-01-03\r\nD,s1,2026-01-04\r\n";
        let (_dir, path) = write(text);
        let mut chunks = CsvChunks::open(&path, "order_id", 2).unwrap();
        let first = chunks.next_chunk().unwrap().unwrap();
        assert_eq!(
            String::from_utf8(first.bytes).unwrap(),
            "order_id,sku,purchased_at\r\nA,s1,2026-01-01\r\nA,s2,2026-01-01\r\nB,s1,2026-01-02\r\n"
        );
        assert_eq!(first.offset, 0);
        let second = chunks.next_chunk().unwrap().unwrap();
        assert_eq!(
            String::from_utf8(second.bytes.clone()).unwrap(),
            "order_id,sku,purchased_at\r\n\"C\",\"s\n1\",2026-01-03\r\nD,s1,2026-01-04\r\n"
        );
        // Chunk line 2 is file line 5.
        assert_eq!(second.offset, 3);
        assert_eq!(second.end_byte, text.len() as u64);
        assert!(chunks.next_chunk().unwrap().is_none());
    }

    #[test]
    fn an_order_split_across_chunks_is_refused_with_its_line() {
        let (_dir, path) = write("order_id,sku,purchased_at\nA,s1,2026-01-01\nB,s1,2026-01-01\nA,s2,2026-01-01\n");
        let mut chunks = CsvChunks::open(&path, "order_id", 1).unwrap();
        chunks.next_chunk().unwrap();
        chunks.next_chunk().unwrap();
        match chunks.next_chunk() {
            Err(Error::Validation { field, detail }) => {
                assert_eq!(field, "line 4");
                assert!(detail.starts_with("continues order A"), "{detail}");
            }
            other => panic!("{:?}", other.map(|c| c.map(|c| c.bytes))),
        }
    }
}
