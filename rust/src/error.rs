//! The crate's one error type, and its single conversion to a Python exception.

use std::io;
use std::path::PathBuf;

use pyo3::exceptions::PyOSError;
use pyo3::PyErr;

#[derive(Debug)]
pub enum Error {
    /// An OS call failed on `path`.
    Io { source: io::Error, path: PathBuf },
    /// Something other than a regular file stands where a session file should be.
    NotRegular(PathBuf),
}

impl Error {
    pub fn io(path: &std::path::Path) -> impl FnOnce(io::Error) -> Error + '_ {
        move |source| Error::Io {
            source,
            path: path.to_path_buf(),
        }
    }

    /// `(errno, message, path)`: the arguments of the matching Python `OSError`.
    pub fn os_error_args(&self) -> (i32, String, String) {
        match self {
            Error::Io { source, path } => {
                let message = source.to_string();
                let message = message.split(" (os error").next().unwrap_or(&message).to_owned();
                (
                    source.raw_os_error().unwrap_or(libc::EIO),
                    message,
                    path.display().to_string(),
                )
            }
            Error::NotRegular(path) => (
                libc::EINVAL,
                "not a regular file".to_owned(),
                path.display().to_string(),
            ),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (errno, message, path) = self.os_error_args();
        write!(f, "[Errno {errno}] {message}: '{path}'")
    }
}

impl From<Error> for PyErr {
    /// `OSError(errno, message, path)`: Python picks the subclass from the errno
    /// (FileNotFoundError, FileExistsError, ...), as it does for its own calls.
    fn from(error: Error) -> PyErr {
        PyOSError::new_err(error.os_error_args())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_errno_message_and_path() {
        let error = Error::io(std::path::Path::new("/x/y"))(io::Error::from_raw_os_error(libc::ENOENT));
        let (errno, message, path) = error.os_error_args();
        assert_eq!((errno, path.as_str()), (libc::ENOENT, "/x/y"));
        assert!(!message.contains("os error"), "{message}");
        assert_eq!(Error::NotRegular(PathBuf::from("/f")).os_error_args().0, libc::EINVAL);
    }
}
