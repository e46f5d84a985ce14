# Stub of the compiled kernel nova_session._rust (rust/src/lib.rs); same API as _python.py.
from os import PathLike
from typing import Any, ClassVar, final

__all__ = [
    "NovaRules",
    "Redactor",
    "Writer",
    "append_records",
    "create_file",
    "encode",
    "finalize_file",
    "generate_session_id",
    "loads",
    "__version__",
]

__version__: str

def generate_session_id() -> str: ...
def encode(obj: Any) -> bytes: ...
def create_file(path: str | PathLike[str], data: bytes, fsync: bool) -> None: ...
def append_records(
    path: str | PathLike[str], records: list[dict[Any, Any]], fsync: bool, key: bytes | None = None
) -> int: ...
def finalize_file(
    path: str | PathLike[str], head: dict[Any, Any], extra: dict[Any, Any], fsync: bool, key: bytes | None = None
) -> bool: ...
def loads(data: bytes) -> Any: ...

@final  # a #[pyclass] without `subclass`: it cannot be subclassed at run time
class Writer:
    def __new__(
        cls,
        path: str | PathLike[str],
        fsync: bool,
        max_events: int,
        max_bytes: int,
        max_delay: float,
        key: bytes | None = None,
    ) -> Writer: ...
    def append(self, record: dict[Any, Any]) -> int: ...
    def flush(self) -> int: ...
    def pending(self) -> int: ...

@final
class Redactor:
    STRUCTURE: ClassVar[frozenset[str]]
    def __new__(cls, documents: list[bytes]) -> Redactor: ...
    @property
    def problems(self) -> list[str]: ...
    @property
    def rule_count(self) -> int: ...
    def redact_text(self, text: str) -> tuple[str, list[tuple[str, int]]] | None: ...
    def redact_record(
        self, record: dict[Any, Any]
    ) -> tuple[dict[Any, Any], list[tuple[str, str, int]], list[tuple[str, str]]] | None: ...

@final
class NovaRules:
    def __new__(cls, document: bytes) -> NovaRules: ...
    @property
    def rule_count(self) -> int: ...
    @property
    def names(self) -> list[str]: ...
    @property
    def severities(self) -> list[str]: ...
    def scan(self, texts: list[str]) -> list[int]: ...
