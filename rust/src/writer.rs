//! The buffered writer's kernel (README, "Buffered writing: `SessionWriter`"):
//! events are encoded when they arrive and written in batches, each batch one
//! locked append with its ids assigned at that moment, like a single append.
//! The Python layer (`nova_session.writer.SessionWriter`) adds fail-open, the
//! exit hook and the context manager.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::append;
use crate::encode::{event_parts, EventParts};

#[derive(Default)]
struct Buffer {
    events: Vec<EventParts>,
    bytes: usize,
    oldest: Option<Instant>,
}

impl Buffer {
    /// Write everything held, in one locked append; on failure everything stays held.
    fn flush(&mut self, path: &std::path::Path, fsync: bool, key: Option<&[u8]>) -> Result<usize, crate::error::Error> {
        if self.events.is_empty() {
            return Ok(0);
        }
        let written = append::append_events(path, &self.events, fsync, key)?;
        *self = Buffer::default();
        Ok(written)
    }
}

/// Buffer events and write them in batches: flushes when it holds max_events events or max_bytes bytes, or when an append finds the oldest event older than max_delay seconds.
#[pyclass(frozen, module = "nova_session._rust")]
pub struct Writer {
    path: PathBuf,
    fsync: bool,
    max_events: usize,
    max_bytes: usize,
    max_delay: Duration,
    /// The chain key: None for the plain sha256 chain.
    key: Option<Vec<u8>>,
    // A Mutex, not &mut self: the lock is taken with the interpreter released,
    // so a thread writing a batch never stalls the others' Python code.
    buffer: Mutex<Buffer>,
}

#[pymethods]
impl Writer {
    #[new]
    #[pyo3(signature = (path, fsync, max_events, max_bytes, max_delay, key=None))]
    fn new(
        path: PathBuf,
        fsync: bool,
        max_events: usize,
        max_bytes: usize,
        max_delay: f64,
        key: Option<Vec<u8>>,
    ) -> Self {
        Writer {
            path,
            fsync,
            max_events,
            max_bytes,
            max_delay: Duration::try_from_secs_f64(max_delay.max(0.0)).unwrap_or(Duration::MAX),
            key,
            buffer: Mutex::new(Buffer::default()),
        }
    }

    /// Buffer one record (a dict) and flush if a threshold is reached; return how many records this call wrote.
    fn append(&self, py: Python<'_>, record: &Bound<'_, PyDict>) -> PyResult<usize> {
        let parts = event_parts(record)?;
        py.detach(|| {
            let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
            buffer.bytes += parts.head.len() + parts.tail.len() + parts.given_id.as_ref().map_or(8, Vec::len) + 1;
            buffer.events.push(parts);
            let now = Instant::now();
            let oldest = *buffer.oldest.get_or_insert(now);
            if buffer.events.len() >= self.max_events
                || buffer.bytes >= self.max_bytes
                || now.duration_since(oldest) >= self.max_delay
            {
                buffer.flush(&self.path, self.fsync, self.key.as_deref())
            } else {
                Ok(0)
            }
        })
        .map_err(PyErr::from)
    }

    /// Write every buffered record in one locked append; return how many.
    fn flush(&self, py: Python<'_>) -> PyResult<usize> {
        py.detach(|| {
            self.buffer.lock().unwrap_or_else(PoisonError::into_inner).flush(
                &self.path,
                self.fsync,
                self.key.as_deref(),
            )
        })
        .map_err(PyErr::from)
    }

    /// How many records are buffered.
    fn pending(&self) -> usize {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner).events.len()
    }
}
