"""One contract for every blob store: the filesystem one, and S3 against a real S3-protocol server.

The S3 server is moto's standalone server (an HTTP implementation of the S3
API on loopback), reached through boto3 exactly as MinIO or Garage would be.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from central.blobstore import BlobMissing, FsBlobStore, S3BlobStore


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is in the test extra")
    port = _free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["fs", "s3"])
def store(request, tmp_path, monkeypatch):
    if request.param == "fs":
        return FsBlobStore(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_endpoint")
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    store = S3BlobStore(f"bucket-{tmp_path.name[-20:].lower().replace('_', '-')}", endpoint, prefix="kiosk")
    store.client.create_bucket(Bucket=store.bucket)
    return store


def test_put_get_size_delete(store):
    assert store.size("packages/a/1") is None
    store.put("packages/a/1", b"sealed bytes")
    assert store.get("packages/a/1") == b"sealed bytes"
    assert store.size("packages/a/1") == len(b"sealed bytes")
    store.delete("packages/a/1")
    assert store.size("packages/a/1") is None
    store.delete("packages/a/1")  # deleting twice is harmless


def test_an_absent_object_is_said_missing_by_every_store(store):
    store.put("a/present", b"x")
    store.delete("a/present")
    for key in ("a/present", "never/stored"):
        with pytest.raises(BlobMissing):
            store.get(key)


def test_concurrent_writers_of_one_key_leave_one_whole_object(store):
    data = bytes(range(256)) * 4096
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: store.put("packages/b/0", data), range(8)))
    assert store.get("packages/b/0") == data


def test_health_probe_writes(store):
    store.check()
    assert store.get("healthz/probe") == b"ok"


def test_fs_store_refuses_keys_that_leave_its_root(tmp_path):
    store = FsBlobStore(tmp_path / "blobs")
    for key in ("../outside", "/etc/passwd", "a/../../b"):
        with pytest.raises(ValueError):
            store.put(key, b"x")
    assert not (tmp_path / "outside").exists()


def test_fs_store_leaves_no_temporary_files(tmp_path):
    store = FsBlobStore(tmp_path / "blobs")
    store.put("p/x", b"1")
    assert [p.name for p in (tmp_path / "blobs" / "p").iterdir()] == ["x"]

