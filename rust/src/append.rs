//! The session file on disk: exclusive creation with its first line, the
//! locked append that assigns ids, and the end record (README, "Records").
//!
//! Every write happens under an exclusive `flock` (the same primitive the
//! Python kernel uses, so both can share a file), as one `write_all` of the
//! whole batch; a failed write or fsync truncates the file back to its old size.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::chain::{self, Key};
use crate::encode::EventParts;
use crate::error::Error;
use crate::jsonline::{add_one, is_integer_text, scan_record, Kind};

/// The first block read back from the end; each further read doubles it.
const FIRST_BLOCK: usize = 8192;
/// Files this process remembers the state of, at most (see `Known`).
const KNOWN_FILES: usize = 64;

type Result<T> = std::result::Result<T, Error>;

/// Write `data` at the end; on failure, truncate back to `size` so no partial line stays.
fn write_locked(file: &File, path: &Path, size: u64, data: &[u8], fsync: bool) -> Result<()> {
    let mut writer = file;
    let written = writer
        .write_all(data)
        .and_then(|()| if fsync { file.sync_all() } else { Ok(()) });
    if let Err(source) = written {
        let _ = file.set_len(size);
        return Err(Error::Io {
            source,
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

fn read_at(file: &File, path: &Path, offset: u64, len: usize) -> Result<Vec<u8>> {
    let mut buffer = vec![0; len];
    file.read_exact_at(&mut buffer, offset).map_err(Error::io(path))?;
    Ok(buffer)
}

/// What the end of a session file says: the last complete record's integer id
/// (decimal text), the last complete, parsable line (the next record links to it),
/// and whether the file ends in a torn line.
pub struct Tail {
    pub last_id: Option<String>,
    pub link_line: Option<Vec<u8>>,
    pub torn: bool,
}

/// Read the end of a file backwards a block at a time, until the last integer id is
/// found: the cost does not grow with the file's size.
pub fn scan_tail(file: &File, path: &Path, size: u64) -> Result<Tail> {
    let mut tail = Tail {
        last_id: None,
        link_line: None,
        torn: false,
    };
    if size == 0 {
        return Ok(tail);
    }
    tail.torn = read_at(file, path, size - 1, 1)?[0] != b'\n';
    let mut pos = size;
    let mut pending: Vec<u8> = Vec::new();
    let mut tail_dropped = false;
    while pos > 0 {
        let step = (FIRST_BLOCK.max(pending.len()) as u64).min(pos);
        pos -= step;
        let mut block = read_at(file, path, pos, step as usize)?;
        block.extend_from_slice(&pending);
        pending = block;
        if !tail_dropped {
            let Some(cut) = pending.iter().rposition(|b| *b == b'\n') else {
                continue; // still inside the torn last line
            };
            pending.truncate(cut + 1);
            tail_dropped = true;
        }
        let body = &pending[..pending.len() - 1];
        let mut lines = body.rsplit(|b| *b == b'\n');
        let mut first = None;
        for line in lines.by_ref() {
            // Unless we reached the start, the first line may begin before pos: keep it for the next block.
            let is_first = line.as_ptr() == body.as_ptr();
            if is_first && pos > 0 {
                first = Some(line.to_vec());
                break;
            }
            if let Some(record) = scan_record(line) {
                if tail.link_line.is_none() {
                    tail.link_line = Some(line.to_vec());
                }
                if let Some(id) = record.id {
                    tail.last_id = Some(id);
                    return Ok(tail);
                }
            }
        }
        let Some(mut first) = first else { break };
        first.push(b'\n');
        pending = first;
    }
    Ok(tail)
}

/// What this process last wrote to a file: if, when it next holds the lock, the
/// file has the same identity and the size our write left it at, nobody else has
/// written since, so the last id is known without reading the file back. Only
/// appends change a session file: another one (whole, torn or healed) changes
/// the size, and a failed one is truncated back to the very bytes it found.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
}

#[derive(Clone)]
struct Known {
    stamp: Stamp,
    last: Option<String>,
    /// The digest of the last line written, and the key it was made with.
    link: Option<String>,
    key: Option<Vec<u8>>,
}

static KNOWN: Mutex<Option<HashMap<PathBuf, Known>>> = Mutex::new(None);

/// What this process's last write left on `path` (stamp, last id, link), if it was
/// made with the same key.
fn remembered(path: &Path, key: Key<'_>) -> Option<Known> {
    let known = KNOWN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let entry = known.as_ref()?.get(path)?;
    (entry.key.as_deref() == key).then(|| entry.clone())
}

fn remember(path: &Path, entry: Known) {
    let mut known = KNOWN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = known.get_or_insert_with(HashMap::new);
    if map.len() >= KNOWN_FILES && !map.contains_key(path) {
        map.clear();
    }
    map.insert(path.to_path_buf(), entry);
}

/// How long a writer waits for the session file's lock: a process that holds it
/// (a stuck writer, or a command of the agent's) must not hold every hook until
/// Claude Code's timeout. The write then fails, and the hook leaves its mark.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Take the exclusive `flock`, waiting at most `LOCK_WAIT`.
fn lock_bounded(file: &File) -> std::io::Result<()> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the session file stayed locked by another process for 3 s",
                ))
            }
            Err(std::fs::TryLockError::Error(error)) => return Err(error),
        }
    }
}

/// Open an existing session file for appending and reading (never through a
/// symbolic link), take the exclusive lock, and return it with its stamp.
fn open_locked(path: &Path) -> Result<(File, Stamp)> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(Error::io(path))?;
    lock_bounded(&file).map_err(Error::io(path))?;
    // One fstat, after the lock: the size is final, and it also refuses a FIFO,
    // a device or a directory (a FIFO opened with O_NONBLOCK cannot block the lock).
    let meta = file.metadata().map_err(Error::io(path))?;
    if !meta.is_file() {
        return Err(Error::NotRegular(path.to_path_buf()));
    }
    Ok((
        file,
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
        },
    ))
}

/// Append events under the lock, assigning ids and chaining each to the line
/// before it; returns how many were written.
pub fn append_events(path: &Path, events: &[EventParts], fsync: bool, key: Key<'_>) -> Result<usize> {
    let (file, stamp) = open_locked(path)?;
    let size = stamp.size;
    let (mut last, mut link, torn) = match remembered(path, key) {
        Some(known) if known.stamp == stamp => (known.last, known.link, false),
        _ => {
            let tail = scan_tail(&file, path, size)?;
            let link = tail.link_line.map(|line| chain::digest(&line, key));
            (tail.last_id, link, tail.torn)
        }
    };
    let mut next = last.as_deref().map_or_else(|| "1".to_owned(), add_one);
    let mut data = Vec::with_capacity(events.iter().map(|e| e.head.len() + e.tail.len() + 24).sum::<usize>() + 1);
    if torn {
        data.push(b'\n'); // terminate the torn line first: it stays, readers skip it
    }
    for event in events {
        let start = data.len();
        data.extend_from_slice(&event.head);
        if let Some(given) = &event.given_id {
            data.extend_from_slice(given);
            if is_integer_text(given) {
                let given = std::str::from_utf8(given).expect("integer text is ASCII");
                next = add_one(given);
                last = Some(given.to_owned());
            }
        } else {
            data.extend_from_slice(next.as_bytes());
            last = Some(std::mem::take(&mut next));
            next = add_one(last.as_deref().expect("just set"));
        }
        data.extend_from_slice(&event.tail[..event.tail.len() - 1]); // all but the closing brace
        if let Some(prev) = &link {
            data.extend_from_slice(&chain::prev_member(prev));
        }
        data.push(b'}');
        link = Some(chain::digest(&data[start..], key));
        data.push(b'\n');
    }
    write_locked(&file, path, size, &data, fsync)?;
    remember(
        path,
        Known {
            stamp: Stamp {
                size: size + data.len() as u64,
                ..stamp
            },
            last,
            link,
            key: key.map(<[u8]>::to_vec),
        },
    );
    Ok(events.len())
}

/// Create `path` holding exactly `data` (mode 0600). The data goes to a temporary
/// file first and `link()` publishes it: nobody ever sees an empty session file,
/// and an existing name (a symbolic link included) makes it fail with EEXIST.
pub fn create_file(path: &Path, data: &[u8], fsync: bool) -> Result<()> {
    let directory = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix: String = crate::ids::random_suffix().iter().map(|b| char::from(*b)).collect();
    let temp: PathBuf = directory.join(format!(".{name}.{}.{suffix}.tmp", std::process::id()));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&temp)
        .map_err(Error::io(&temp))?;
    let result = (|| {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(Error::io(&temp))?;
        write_locked(&file, &temp, 0, data, fsync)?;
        std::fs::hard_link(&temp, path).map_err(Error::io(path))?;
        if fsync {
            File::open(directory)
                .and_then(|dir| dir.sync_all())
                .map_err(Error::io(directory))?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&temp);
    result
}

/// Append the end record unless the last record already is one; returns whether it wrote.
/// `head` is the record's opening (`{"type":"end",...` without the closing brace), and
/// `extra` the members after `event_count` (`,"k":v...`).
pub fn finalize(path: &Path, head: &[u8], extra: &[u8], fsync: bool, key: Key<'_>) -> Result<bool> {
    let (file, Stamp { size, .. }) = open_locked(path)?;
    let data = read_at(&file, path, 0, usize::try_from(size).expect("file fits in memory"))?;
    let complete = match data.iter().rposition(|b| *b == b'\n') {
        Some(end) => &data[..end],
        None => &data[..0],
    };
    let mut kinds: Vec<Kind> = Vec::new();
    let mut link_line: Option<&[u8]> = None;
    if data.contains(&b'\n') {
        for line in complete.split(|b| *b == b'\n') {
            if let Some(record) = scan_record(line) {
                kinds.push(record.kind);
                link_line = Some(line);
            }
        }
    }
    if kinds.last() == Some(&Kind::End) {
        return Ok(false);
    }
    // README, "Records": the records after init, earlier end records (a resumed session) excepted.
    let ends = kinds.iter().filter(|kind| **kind == Kind::End).count();
    let count = kinds.len() - ends - usize::from(kinds.first() == Some(&Kind::Init));
    let mut line = Vec::with_capacity(head.len() + extra.len() + 32);
    if !data.is_empty() && data.last() != Some(&b'\n') {
        line.push(b'\n');
    }
    line.extend_from_slice(head);
    line.extend_from_slice(format!(",\"event_count\":{count}").as_bytes());
    line.extend_from_slice(extra);
    if let Some(previous) = link_line {
        line.extend_from_slice(&chain::prev_member(&chain::digest(previous, key)));
    }
    line.extend_from_slice(b"}\n");
    write_locked(&file, path, size, &line, fsync)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nova-append-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn event(body: &str) -> EventParts {
        EventParts {
            head: b"{\"type\":\"event\",\"id\":".to_vec(),
            given_id: None,
            tail: format!(",\"x\":{body}}}").into_bytes(),
        }
    }

    #[test]
    fn creates_appends_and_ends() {
        let dir = temp_dir("cycle");
        let path = dir.join("s.jsonl");
        create_file(&path, b"{\"type\":\"init\"}\n", false).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(
            matches!(create_file(&path, b"x\n", false), Err(Error::Io { ref source, .. }) if source.raw_os_error() == Some(libc::EEXIST))
        );
        assert_eq!(append_events(&path, &[event("1"), event("2")], false, None).unwrap(), 2);
        assert!(finalize(&path, b"{\"type\":\"end\"", b",\"reason\":\"r\"", false, None).unwrap());
        assert!(!finalize(&path, b"{\"type\":\"end\"", b"", false, None).unwrap());
        append_events(&path, &[event("3")], true, None).unwrap();
        // A resumed session ends again; the earlier end record is not counted.
        assert!(finalize(&path, b"{\"type\":\"end\"", b"", false, None).unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // Each record ends with the digest of the line before it.
        let link = |n: usize| format!(",\"prev\":\"{}\"}}", chain::digest(lines[n].as_bytes(), None));
        let expected = [
            "{\"type\":\"init\"}".to_owned(),
            format!("{{\"type\":\"event\",\"id\":1,\"x\":1{}", link(0)),
            format!("{{\"type\":\"event\",\"id\":2,\"x\":2{}", link(1)),
            format!("{{\"type\":\"end\",\"event_count\":2,\"reason\":\"r\"{}", link(2)),
            format!("{{\"type\":\"event\",\"id\":3,\"x\":3{}", link(3)),
            format!("{{\"type\":\"end\",\"event_count\":3{}", link(4)),
        ];
        assert_eq!(lines, expected, "{text}");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left behind"
        );
    }

    #[test]
    fn heals_a_torn_tail_and_scans_past_long_lines() {
        let dir = temp_dir("torn");
        let path = dir.join("s.jsonl");
        let long = "y".repeat(3 * FIRST_BLOCK);
        let body = format!(
            "{{\"type\":\"event\",\"id\":41}}\n{{\"long\":\"{long}\"}}\n{{\"type\":\"event\",\"id\":42,\"x\":\"tor"
        );
        std::fs::write(&path, body).unwrap();
        append_events(&path, &[event("0")], false, None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        // The torn line is ended and stays out of the chain: the record links to the long line.
        let long_line = format!("{{\"long\":\"{long}\"}}");
        let expected = format!(
            "\"x\":\"tor\n{{\"type\":\"event\",\"id\":42,\"x\":0,\"prev\":\"{}\"}}\n",
            chain::digest(long_line.as_bytes(), None)
        );
        assert!(text.ends_with(&expected), "{}", &text[text.len() - 160..]);
    }

    #[test]
    fn a_remembered_last_id_is_used_only_while_nobody_else_wrote() {
        let dir = temp_dir("remembered");
        let path = dir.join("s.jsonl");
        create_file(&path, b"{\"type\":\"init\"}\n", false).unwrap();
        // id 1, remembered
        append_events(&path, &[event("1")], false, None).unwrap();
        // Another writer appends id 7 behind this process's back: the size changed.
        let mut other = OpenOptions::new().append(true).open(&path).unwrap();
        other.write_all(b"{\"type\":\"event\",\"id\":7}\n").unwrap();
        append_events(&path, &[event("2")], false, None).unwrap();
        // remembered again: 9
        append_events(&path, &[event("3")], false, None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let ids: Vec<&str> = text.lines().skip(1).map(|l| &l[21..22]).collect();
        assert_eq!(ids, ["1", "7", "8", "9"], "{text}");
    }

    #[test]
    fn refuses_links_and_non_files() {
        let dir = temp_dir("links");
        let target = dir.join("target");
        std::fs::write(&target, b"").unwrap();
        let link = dir.join("link.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(append_events(&link, &[event("1")], false, None).is_err());
        assert!(create_file(&link, b"x", false).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"");
        assert!(matches!(
            append_events(&dir, &[event("1")], false, None),
            Err(Error::NotRegular(_) | Error::Io { .. })
        ));
    }
}
