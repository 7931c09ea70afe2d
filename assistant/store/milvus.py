"""The Milvus store: a KB is two collections, its sections and its documents, in Milvus Lite (a local
path: embedded, one process) or a Milvus server (http(s)://host:19530), through pymilvus.

Sections hold the vector (FLOAT_VECTOR, inner product), the section itself (JSON) and its BM25 tokens
joined by spaces in a text field that Milvus's own BM25 function indexes, so the statistics live in
the database and stay right across app processes. Bigan segments and converts to Simplified itself (the
`standard` analyzer keeps pre-segmented words whole; Milvus has no Traditional→Simplified step).
Candidates from both searches are fused by Bigan (retrieve.py), as for FAISS.

Milvus has no multi-row transaction: a write inserts the new rows first and then deletes the ones they
replace, so a reader during a write may see a document twice for a moment but never misses one.
"""
from __future__ import annotations

import fcntl
import json
import logging
import re
import secrets
import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import asdict
from functools import cached_property
from pathlib import Path

import numpy as np

from ..config import Settings
from ..errors import BiganError, KBMissingError
from ..ingest.sections import Section
from .base import FORMAT_VERSION, DocumentsView, DocumentWrite, Key, file_lock, text_key

_TEXT_PART = 16_000  # characters of a document's text per row (VARCHAR holds 65,535 bytes)
_VARCHAR = 65_535
_BATCH = 512  # rows per insert call
_FLUSH_ROWS = 1000
_META = "__meta__"
_QUERY_WINDOW = 16_384  # Milvus's largest offset + limit of one query
_clients: dict[tuple[str, str], object] = {}
_clients_lock = threading.Lock()


def _is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://", "grpc://"))


def _client(uri: str, token: str):
    """One client per database in this process (Milvus Lite lets only one process open a .db folder)."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    if not _is_server(uri) and not uri.endswith(".db"):
        raise BiganError(f"BIGAN_MILVUS_URI is a Milvus Lite database folder ending in .db, or http(s)://host:port; got {uri}")
    with _clients_lock:
        client = _clients.get((uri, token))
        if client is None:
            lite_log = logging.getLogger("milvus_lite")
            level = lite_log.level
            lite_log.setLevel(logging.CRITICAL)  # its traceback of a locked folder; the user gets the line below
            try:
                client = MilvusClient(uri, token=token) if token else MilvusClient(uri)
            except MilvusException as exc:
                if not _is_server(uri) and _locked(Path(uri)):
                    raise BiganError(
                        f"Milvus Lite database {uri} is open in another process (Milvus Lite allows one); "
                        f"serve it with `milvus-lite server --data-dir {uri} --host 127.0.0.1 --port 19530` and set "
                        "BIGAN_MILVUS_URI=http://127.0.0.1:19530 in every process that uses it"
                    ) from None
                raise BiganError(f"cannot open Milvus at {uri}: {getattr(exc, 'message', exc)}") from None
            finally:
                lite_log.setLevel(level)
            _clients[(uri, token)] = client
        return client


def close_clients() -> None:
    """Close this process's Milvus connections (Milvus Lite then releases its database to other processes)."""
    with _clients_lock:
        for (uri, _), client in _clients.items():
            client.close()
            if not _is_server(uri):
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(uri)
        _clients.clear()


def _locked(folder: Path) -> bool:
    try:
        with open(folder / "LOCK", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def _filter_in(field: str, values: Iterable) -> str:
    return f"{field} in {json.dumps(list(values), ensure_ascii=False)}"


class MilvusReader(DocumentsView):
    """The KB as committed: documents read at open; sections fetched as searches need them."""

    def __init__(self, store: "MilvusStore", meta: dict, documents: dict[str, dict]) -> None:
        self.store = store
        self.meta = meta
        self.documents = documents
        self._sections: dict[int, Section] = {}
        self._cache_lock = threading.Lock()

    def doc_text(self, doc_id: str) -> str:
        return self.store._doc_texts([doc_id]).get(doc_id, "")

    def document_sections(self, doc_id: str) -> list[Section]:
        rows = self.store._query(self.store.sections_name, f'doc_id == "{doc_id}"', ["section"])
        return sorted((Section(**json.loads(r["section"])) for r in rows), key=lambda s: s.position)

    @property
    def sections(self) -> list[Section]:
        """Every section (the older interface; reads the whole collection)."""
        rows = self.store._query(self.store.sections_name, "id >= 0", ["section"])
        return sorted((Section(**json.loads(r["section"])) for r in rows), key=lambda s: (s.source, s.position))

    def _remember(self, hits: list[dict]) -> None:
        with self._cache_lock:
            if len(self._sections) > 50_000:
                self._sections.clear()
            for hit in hits:
                self._sections[hit["id"]] = Section(**json.loads(hit["entity"]["section"]))

    def dense(self, vector: np.ndarray, n: int) -> dict[Key, float]:
        hits = self.store.client.search(
            self.store.sections_name, data=[np.asarray(vector, dtype=np.float32).tolist()], anns_field="vector",
            limit=n, output_fields=["section"], search_params=self.store.dense_params,
        )[0]
        self._remember(hits)
        return {h["id"]: float(h["distance"]) for h in hits}

    def lexical(self, tokens: list[str], n: int) -> dict[Key, float]:
        hits = self.store.client.search(
            self.store.sections_name, data=[" ".join(tokens)], anns_field="sparse", limit=n,
            output_fields=["section"], search_params={"metric_type": "BM25"},
        )[0]
        self._remember(hits)
        # Milvus returns BM25 negated (smaller is better, like a distance).
        return {h["id"]: -float(h["distance"]) for h in hits if h["distance"] < 0}

    def similarity(self, keys: Iterable[Key], vector: np.ndarray) -> dict[Key, float]:
        keys = list(keys)
        if not keys:
            return {}
        rows = self.store.client.get(self.store.sections_name, ids=keys, output_fields=["vector"])
        return {r["id"]: float(np.asarray(r["vector"], dtype=np.float32) @ vector) for r in rows}

    def sections_of(self, keys: Iterable[Key]) -> dict[Key, Section]:
        keys = list(keys)
        with self._cache_lock:
            found = {k: self._sections[k] for k in keys if k in self._sections}
        missing = [k for k in keys if k not in found]
        if missing:
            rows = self.store.client.get(self.store.sections_name, ids=missing, output_fields=["section"])
            found |= {r["id"]: Section(**json.loads(r["section"])) for r in rows}
        return found


class MilvusStore:
    """One KB in Milvus: collections `bigan_<kb folder name>_sections` and `_docs`."""

    def __init__(self, settings: Settings, root: Path | None = None) -> None:
        self.settings = settings
        self.root = Path(root or settings.kb_dir)
        self.uri = settings.milvus_uri or str(self.root / "milvus.db")
        self.token = settings.milvus_token.get_secret_value()
        base = "bigan_" + re.sub(r"[^A-Za-z0-9_]", "_", self.root.resolve().name)
        self.sections_name, self.docs_name = f"{base}_sections", f"{base}_docs"
        # Lite searches exactly (FLAT, as FAISS does); a server gets HNSW, searched wide.
        server = _is_server(self.uri)
        self.dense_index = {"index_type": "HNSW", "params": {"M": 16, "efConstruction": 200}} if server else {"index_type": "FLAT"}
        self.dense_params = {"metric_type": "IP", "params": {"ef": 128}} if server else {"metric_type": "IP"}

    @cached_property
    def client(self):
        if not _is_server(self.uri):
            Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
        client = _client(self.uri, self.token)
        for name in (self.sections_name, self.docs_name):
            if client.has_collection(name):
                client.load_collection(name)  # a reopened collection is not searchable until loaded
        return client

    # Reading
    def _query(self, collection: str, expr: str, fields: list[str]) -> list[dict]:
        rows = self.client.query(collection, filter=expr, output_fields=fields, limit=_QUERY_WINDOW)
        if len(rows) < _QUERY_WINDOW:
            return rows
        # More rows than one query returns: page through them.
        iterator = self.client.query_iterator(collection, batch_size=1000, filter=expr, output_fields=fields)
        rows = []
        try:
            while batch := iterator.next():
                rows.extend(batch)
        finally:
            iterator.close()
        return rows

    def meta(self) -> dict | None:
        if not self.client.has_collection(self.docs_name):
            return None
        rows = self.client.get(self.docs_name, ids=[_META], output_fields=["entry"])
        return json.loads(rows[0]["entry"]) if rows else None

    def exists(self) -> bool:
        return self.meta() is not None

    def version(self) -> str:
        meta = self.meta()
        return meta.get("version", "") if meta else ""

    def read(self) -> MilvusReader:
        meta = self.meta()
        if meta is None:
            hint = " (that folder holds a FAISS-store KB: index it again with BIGAN_STORE=milvus)" if (self.root / "CURRENT").exists() else ""
            raise KBMissingError(f"no knowledge base in Milvus at {self.uri}{hint}; build one with `bigan index [PATH ...]`")
        rows = self._query(self.docs_name, "part == 0", ["doc_id", "entry"])
        return MilvusReader(self, meta, {r["doc_id"]: json.loads(r["entry"]) for r in rows})

    def _doc_texts(self, doc_ids: list[str] | None = None) -> dict[str, str]:
        expr = f'key != "{_META}"' + (f" and {_filter_in('doc_id', doc_ids)}" if doc_ids is not None else "")
        parts: dict[str, list[tuple[int, str]]] = {}
        for r in self._query(self.docs_name, expr, ["doc_id", "part", "text"]):
            parts.setdefault(r["doc_id"], []).append((r["part"], r["text"]))
        return {d: "".join(t for _, t in sorted(p)) for d, p in parts.items()}

    def document_texts(self) -> tuple[dict[str, dict], dict[str, str]]:
        if self.meta() is None:
            return {}, {}
        reader = self.read()
        return dict(reader.documents), self._doc_texts()

    def vectors_of(self, doc_ids: Iterable[str]) -> dict[str, np.ndarray]:
        doc_ids = list(doc_ids)
        if not doc_ids or not self.client.has_collection(self.sections_name):
            return {}
        rows = self._query(self.sections_name, _filter_in("doc_id", doc_ids), ["embed_key", "vector"])
        return {r["embed_key"]: np.asarray(r["vector"], dtype=np.float32) for r in rows}

    # Writing
    def writer_lock(self) -> AbstractContextManager:
        # Writers on this machine queue here; writers on several machines need one indexing host.
        return file_lock(self.root / ".milvus.lock")

    def _create(self, dimension: int) -> None:
        from pymilvus import DataType, Function, FunctionType

        client = self.client
        if client.has_collection(self.sections_name):
            fields = client.describe_collection(self.sections_name)["fields"]
            if next(f for f in fields if f["name"] == "vector")["params"]["dim"] == dimension:
                return
            client.drop_collection(self.sections_name)  # only on a rebuild for another model: every row is rewritten
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=64)
        schema.add_field("batch", DataType.INT64)
        schema.add_field("embed_key", DataType.VARCHAR, max_length=64)
        schema.add_field("section", DataType.VARCHAR, max_length=_VARCHAR)
        schema.add_field("tokens", DataType.VARCHAR, max_length=_VARCHAR, enable_analyzer=True, analyzer_params={"tokenizer": "standard"})
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["tokens"], output_field_names=["sparse"]))
        index = client.prepare_index_params()
        index.add_index("vector", metric_type="IP", **self.dense_index)
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        client.create_collection(self.sections_name, schema=schema, index_params=index)
        if not client.has_collection(self.docs_name):
            schema = client.create_schema(auto_id=False)
            schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=128)
            schema.add_field("doc_id", DataType.VARCHAR, max_length=64)
            schema.add_field("part", DataType.INT64)
            schema.add_field("batch", DataType.INT64)
            schema.add_field("entry", DataType.VARCHAR, max_length=_VARCHAR)
            schema.add_field("text", DataType.VARCHAR, max_length=_VARCHAR)
            schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
            index = client.prepare_index_params()
            index.add_index("unused", index_type="FLAT", metric_type="L2")
            client.create_collection(self.docs_name, schema=schema, index_params=index)

    def write(self, meta: dict, docs: list[DocumentWrite], remove: Iterable[str], replace_all: bool = False) -> None:
        self._create(int(meta["embedding"]["dimension"]))
        from ..kb import embed_text  # what the model saw decides whether a vector can be reused

        batch = secrets.randbits(62)
        rows = []
        for doc in docs:
            for section, vector, tokens in zip(doc.sections, doc.vectors, doc.tokens):
                rows.append({
                    "id": secrets.randbits(62), "doc_id": doc.doc_id, "batch": batch, "embed_key": text_key(embed_text(section)),
                    "section": json.dumps(asdict(section), ensure_ascii=False), "tokens": " ".join(tokens) or "_",
                    "vector": np.asarray(vector, dtype=np.float32).tolist(),
                })
        for start in range(0, len(rows), _BATCH):
            self.client.insert(self.sections_name, rows[start:start + _BATCH])
        if len(rows) >= _FLUSH_ROWS:
            # A large write becomes a sealed, indexed segment: Milvus Lite searches unsealed rows slowly. Small
            # writes stay unsealed until Milvus seals them, since BM25 statistics are per segment
            # (bench/bench_store.py --segments-of: a segment per document costs the sample dev set 0.014 of R@1).
            self.client.flush(self.sections_name)
        doc_rows = []
        for doc in docs:
            parts = [doc.text[i:i + _TEXT_PART] for i in range(0, len(doc.text), _TEXT_PART)] or [""]
            for number, part in enumerate(parts):
                doc_rows.append({
                    "key": f"{doc.doc_id}#{number}", "doc_id": doc.doc_id, "part": number, "batch": batch,
                    "entry": json.dumps(doc.entry, ensure_ascii=False) if number == 0 else "{}", "text": part, "unused": [0.0, 0.0],
                })
        for start in range(0, len(doc_rows), 64):
            self.client.upsert(self.docs_name, doc_rows[start:start + 64])
        # Then the rows the new ones replace, and removed documents.
        written = [d.doc_id for d in docs]
        if replace_all:
            stale = f'batch != {batch} and key != "{_META}"'
            self.client.delete(self.sections_name, filter=f"batch != {batch}")
            self.client.delete(self.docs_name, filter=stale)
        else:
            if written:
                self.client.delete(self.sections_name, filter=f"batch != {batch} and {_filter_in('doc_id', written)}")
                self.client.delete(self.docs_name, filter=f"batch != {batch} and {_filter_in('doc_id', written)}")
            gone = [d for d in remove if d not in written]
            if gone:
                self.client.delete(self.sections_name, filter=_filter_in("doc_id", gone))
                self.client.delete(self.docs_name, filter=_filter_in("doc_id", gone))
        meta = {**meta, "format_version": FORMAT_VERSION, "store": "milvus", "version": secrets.token_hex(8)}
        self.client.upsert(self.docs_name, [{
            "key": _META, "doc_id": "", "part": -1, "batch": batch, "entry": json.dumps(meta, ensure_ascii=False),
            "text": "", "unused": [0.0, 0.0],
        }])

    def drop(self) -> None:
        """Delete the KB's collections (tests, and a KB that is no longer wanted)."""
        for name in (self.sections_name, self.docs_name):
            if self.client.has_collection(name):
                self.client.drop_collection(name)
