"""The CA certificates a run trusts, read on the first TLS handshake rather than at start-up.

httpx's default parses certifi's whole bundle whenever a client is made (25-40 ms of CPU), even
for a run that never leaves plain http. Here nothing is read until a TLS connection starts, and
then, in this order: SSL_CERT_FILE / SSL_CERT_DIR when set (as OpenSSL, curl and httpx honour
them), else the system's hashed CA directory (which OpenSSL reads one certificate at a time, as
a handshake needs it), else certifi's bundle. Certificates that cannot be loaded (a file that
holds none) are a configuration error at that first handshake, never retried.

A CA file named by the user (SSL_CERT_FILE, a profile's `verify`) is read by jobwatch, not by
OpenSSL: only a regular file, of at most CA_BUNDLE_LIMIT, opened without blocking, so that a
FIFO or a device ends in exit 6 instead of a handshake that never finishes.
"""

from __future__ import annotations

import functools
import os
import re
import ssl
import threading
from collections.abc import Mapping
from typing import Any

from jobwatch.errors import ConfigError

_HASHED = re.compile(r"[0-9a-f]{8}\.\d+")
# certifi's bundle is 300 KiB; a file of 16 MiB is no bundle anyone means.
CA_BUNDLE_LIMIT = 16 * 1024 * 1024
_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")


class LazyTrust(ssl.SSLContext):
    """Verifies like ssl.create_default_context(): hostname checked, certificate required."""

    def __new__(cls, env: Mapping[str, str]) -> LazyTrust:
        return super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__()
        self._cafile = env.get("SSL_CERT_FILE") or None
        self._capath = env.get("SSL_CERT_DIR") or None
        # Nothing checked here: a plain-http run never reads them (as curl); _load does, at
        # the first handshake.
        self._loaded = False
        self._lock = threading.Lock()
        if hasattr(ssl, "VERIFY_X509_PARTIAL_CHAIN"):  # as create_default_context does
            self.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN

    @property
    def source(self) -> str:
        """Where the certificates come (or would come) from, for messages."""
        if self._cafile or self._capath:
            return " and ".join(p for p in (self._cafile, self._capath) if p)
        return system_ca_dir() or "certifi"

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            for name, path in (("SSL_CERT_FILE", self._cafile),
                               ("SSL_CERT_DIR", self._capath)):
                if path and not os.path.exists(path):  # OpenSSL takes a missing dir silently
                    raise ConfigError(f"{name}={path}: no such file or directory",
                                      hint=f"unset {name} or point it at your CA certificates")
            try:
                if self._cafile:
                    self.load_verify_locations(cadata=self._read_cafile(self._cafile),
                                               capath=self._capath)
                elif self._capath:
                    self.load_verify_locations(capath=self._capath)
                elif system_ca_dir():
                    self.load_verify_locations(capath=system_ca_dir())
                else:
                    import certifi

                    self.load_verify_locations(cafile=certifi.where())
            except (OSError, ValueError) as exc:
                # A ConfigError, not an SSLError: httpx would report that as a connect error,
                # retried as if the network had failed. This passes through httpcore and httpx
                # untouched and ends the run at once with exit 6.
                reason = (getattr(exc, "reason", None) or getattr(exc, "strerror", None)
                          or str(exc))
                raise ConfigError(f"cannot load CA certificates from {self.source}: {reason}",
                                  hint=self._load_hint()) from None
            self._loaded = True

    def _read_cafile(self, path: str) -> str:
        # Read here, bounded, rather than by OpenSSL: SSL_CERT_FILE=/dev/stdin or a FIFO would
        # block the handshake for ever.
        try:
            return read_pem_certificates(path)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ConfigError(f"cannot load CA certificates from {path}: {reason}",
                              hint=self._load_hint()) from None

    def _load_hint(self) -> str:
        if self._cafile:
            return "unset SSL_CERT_FILE or point it at a PEM file of CA certificates"
        if self._capath:
            return "unset SSL_CERT_DIR or point it at a directory of hashed CA certificates"
        return "install your system's CA certificates, or set SSL_CERT_FILE to a PEM bundle"

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._load()
        return super().wrap_bio(*args, **kwargs)


@functools.lru_cache(maxsize=1)
def system_ca_dir() -> str | None:
    """OpenSSL's default CA directory, when it holds hashed certificates (Debian, Ubuntu,
    Alpine, ...); None where it does not (macOS, Fedora's bundle-only layout)."""
    path = ssl.get_default_verify_paths().capath
    if not path or not os.path.isdir(path):
        return None
    try:
        with os.scandir(path) as entries:
            return path if any(_HASHED.fullmatch(e.name) for e in entries) else None
    except OSError:
        return None


def read_pem_certificates(path: str | os.PathLike[str]) -> str:
    """The PEM certificates of a CA bundle file, for load_verify_locations(cadata=...): read
    with jobwatch.bounded (a regular file, at most CA_BUNDLE_LIMIT). Raises OSError
    (NotARegularFile and TooLarge among them), or ValueError when it holds no certificate."""
    from jobwatch.bounded import read_user_file

    return _certificates(read_user_file(path, CA_BUNDLE_LIMIT).data or b"")


def _certificates(data: bytes) -> str:
    # Only the certificate blocks: cadata must be ASCII, and bundles may name their CAs in
    # comments, in UTF-8, between them.
    blocks = _PEM_CERTIFICATE.findall(data)
    if not blocks:
        raise ValueError("no PEM certificate in it")
    return b"\n".join(blocks).decode("ascii")


def ca_bundle_context(path: str | os.PathLike[str], where: str) -> ssl.SSLContext:
    """A verifying context that trusts the CA bundle at ``path`` (``verify`` in a profile): a
    PEM file, or a directory of hashed certificates that OpenSSL reads as handshakes need them.
    ``where`` names the setting in messages. Exit 6 for anything else, FIFOs and devices
    included, without blocking on them."""
    from jobwatch.bounded import NotARegularFile, read_user_file

    try:
        read = read_user_file(path, CA_BUNDLE_LIMIT, directory_ok=True)
        if read.data is None:
            return ssl.create_default_context(capath=os.fspath(path))
        return ssl.create_default_context(cadata=_certificates(read.data))
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such CA bundle",
                          hint="give true, false or a CA file path") from None
    except NotARegularFile as exc:
        raise ConfigError(f"{where} is {exc.kind}, not a CA bundle file or directory",
                          hint="give true, false or a CA file path") from None
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = (getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
                  or type(exc).__name__)
        raise ConfigError(f"{where} is not a CA bundle jobwatch can load ({reason})",
                          hint="give a PEM file of CA certificates") from None
