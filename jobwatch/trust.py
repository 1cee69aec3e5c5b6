"""The CA certificates a run trusts, read on the first TLS handshake rather than at start-up.

httpx's default parses certifi's whole bundle whenever a client is made (25-40 ms of CPU), even
for a run that never leaves plain http. Here nothing is read until a TLS connection starts, and
then, in this order: SSL_CERT_FILE / SSL_CERT_DIR when set (as OpenSSL, curl and httpx honour
them), else the system's hashed CA directory (which OpenSSL reads one certificate at a time, as
a handshake needs it), else certifi's bundle. Certificates that cannot be loaded (a file that
holds none) are a configuration error at that first handshake, never retried.
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
                if self._cafile or self._capath:
                    self.load_verify_locations(cafile=self._cafile, capath=self._capath)
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
