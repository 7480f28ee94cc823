"""Hashes and run state: what a report depends on, and what the last run built.

- file hashes are SHA-256 of contents, cached by (size, mtime_ns) in
  ``<reports>/_state/hashes.json`` so a no-change re-run does not re-read data;
- the library version is a hash of every source/resource file under ``msoko/``;
- a report's fingerprint = notebook hash + parameters + library hash + hashes of
  the processed tables the notebook reads (+ the runner format version).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
KEY_PACKAGES = ("pandas", "numpy", "pyarrow", "scipy", "statsmodels", "matplotlib", "seaborn",
                "papermill", "nbclient", "nbconvert", "nbformat", "ipykernel", "jupyter_client",
                "pyzmq", "dask", "distributed", "tqdm")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_json(obj: Any) -> str:
    return sha256_bytes(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode())


def atomic_write(path: Path, data: str | bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        tmp.replace(path)
    except BaseException:   # a full disk, Ctrl-C: no empty or partial temporary file left behind
        tmp.unlink(missing_ok=True)
        raise


class HashCache:
    """SHA-256 of files, remembered by (size, mtime_ns)."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None
        self.data: dict[str, list] = {}
        self.dirty = False
        if self.path and self.path.exists():
            try:
                self.data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.data = {}

    def file(self, path: Path) -> str:
        path = Path(path).resolve()
        st = path.stat()
        key = str(path)
        hit = self.data.get(key)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            return hit[2]
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest()
        self.data[key] = [st.st_size, st.st_mtime_ns, digest]
        self.dirty = True
        return digest

    def save(self) -> None:
        if self.path and self.dirty:
            atomic_write(self.path, json.dumps(self.data, ensure_ascii=False, indent=0))
            self.dirty = False


def library_hash() -> str:
    """Hash of msoko's own sources and resources (the "library version")."""
    import msoko

    root = Path(msoko.__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if not p.is_file() or "__pycache__" in p.parts or p.suffix in (".pyc", ".pyo"):
            continue
        if any(part.startswith(".") for part in p.relative_to(root).parts):
            continue
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


DATA_SUFFIXES = (".parquet", ".csv")


def data_files(processed_dir: Path) -> dict[str, Path]:
    """Processed data files by table name (file stem; csv files keep their suffix)."""
    out: dict[str, Path] = {}
    for p in sorted(Path(processed_dir).iterdir()) if Path(processed_dir).is_dir() else []:
        if p.is_file() and p.suffix in DATA_SUFFIXES and not p.name.startswith((".", "_")):
            out[p.stem if p.suffix == ".parquet" else p.name] = p
    return out


def dir_state(processed_dir: Path, cache: HashCache, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """Hash of every data file (Parquet/CSV) in the folder, for the compute skip. Logs
    (which may carry timestamps) and sub-folders such as ingest's cache are left out."""
    out = {}
    for p in sorted(Path(processed_dir).iterdir()) if Path(processed_dir).is_dir() else []:
        if (p.is_file() and p.suffix in DATA_SUFFIXES and not p.name.startswith(".")
                and p.name not in exclude):
            out[p.name] = cache.file(p)
    return out


def package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("msoko",) + KEY_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    out["executable"] = sys.executable
    return out


def load_manifest(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
