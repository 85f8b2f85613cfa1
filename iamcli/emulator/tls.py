"""A self-signed certificate for `iamcli serve --tls`, as a cluster master has one.

It lets clients be tried with TLS the way they meet a real cluster: `curl -k`,
`--skip-ssl-validation`, or `--ca-bundle` pointing at the certificate.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .store import files


def self_signed(directory: Path, hosts: list[str]) -> tuple[Path, Path]:
    """(certificate, key) in `directory`, made on first use and kept for later starts."""
    cert_path, key_path = directory / "serve-tls-cert.pem", directory / "serve-tls-key.pem"
    files.private_dirs(directory)
    files.check_dir(directory)
    if cert_path.exists() and key_path.exists():
        _check_kept(cert_path, key_path)
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for host in {"127.0.0.1", "::1", *hosts}:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iamcli serve")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        0o600,
    )
    # Public, but no one else may write it: a swapped certificate is a swapped server.
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "wb") as f:
        # A file that was already there keeps its owner's mode otherwise, and the umask can
        # only take bits away.
        os.fchmod(f.fileno(), mode)
        f.write(data)


def _check_kept(cert_path: Path, key_path: Path) -> None:
    """The pair made by an earlier start is used only if it is still ours alone to change (and,
    for the key, to read)."""
    files.check_file(str(key_path), os.lstat(key_path), "TLS key")
    st = os.lstat(cert_path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise files.StoreFileError(f"TLS certificate {cert_path} is not a regular file")
    if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise files.StoreFileError(
            f"TLS certificate {cert_path} can be changed by another user; remove it and "
            "start again to make a new one"
        )
