"""Where the sealed parts of packages are kept: a filesystem directory, or an S3-compatible bucket.

Parts are stored exactly as the kiosk sealed them (the service never writes
plaintext to the store), under keys that include their SHA-256, so a part
written twice is the same object and a retry never makes a second copy.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

from titres.durable import write_durably


class BlobMissing(KeyError):
    """No object under this key: never stored, or deleted since (a purge that ran meanwhile)."""


class BlobStore(ABC):
    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Store atomically: a reader sees the whole object or nothing."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The object; :class:`BlobMissing` when there is none."""

    @abstractmethod
    def size(self, key: str) -> int | None:
        """The stored object's size, or None if there is none."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    def check(self) -> None:
        """Raise if the store cannot be written (for ``/healthz``)."""
        self.put("healthz/probe", b"ok")


class FsBlobStore(BlobStore):
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if ".." in key.split("/") or key.startswith("/"):
            raise ValueError(f"bad blob key {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_durably(path, data, concurrent=True)  # two processes may store the same part at once (a retry)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc

    def size(self, key: str) -> int | None:
        try:
            return os.stat(self._path(key)).st_size
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3BlobStore(BlobStore):
    """Any S3-compatible store (MinIO, Garage, Ceph RGW, OVH/Scaleway object storage). Needs boto3."""

    def __init__(self, bucket: str, endpoint: str = "", prefix: str = ""):
        import boto3  # only this backend needs it

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client("s3", endpoint_url=endpoint or None)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise BlobMissing(key) from exc
            raise

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)


def create_blobstore(config) -> BlobStore:
    if config.blob_backend == "fs":
        return FsBlobStore(config.blobs_dir)
    if config.blob_backend == "s3":
        if not config.s3_bucket:
            raise ValueError("KIOSK_CENTRAL_S3_BUCKET is required with the s3 blob store")
        return S3BlobStore(config.s3_bucket, config.s3_endpoint, config.s3_prefix)
    raise ValueError(f"blob store must be fs or s3, not {config.blob_backend!r}")
