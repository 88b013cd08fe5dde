"""A private CA and a serving certificate for a webhook server, on the host or in the cluster.

The apiserver calls webhooks over TLS only and checks the serving certificate against the
``caBundle`` of the registration, including the host name it dials: the IP address of
``clientConfig.url`` for a server on the host, ``<service>.<namespace>.svc`` for one
registered by ``clientConfig.service``. So each server gets its own throw-away CA (nothing
else trusts it) and a certificate whose only subject alternative names are those. Keys are
written 0600 into a 0700 directory with ``write_private``; the CA key is not written at all,
since nothing is signed after start-up.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.secretfiles import write_private

#: Long enough for any test run, short enough that a leaked certificate is soon worthless.
VALIDITY = dt.timedelta(days=2)


@dataclass(frozen=True)
class ServingMaterial:
    """Where the server's certificate chain and key are, and the CA clients must trust."""

    ca_pem: bytes
    cert_file: Path
    key_file: Path

    @classmethod
    def from_directory(cls, directory: Path) -> ServingMaterial:
        """Material mounted from a ``kubernetes.io/tls`` Secret (``tls.crt``, ``tls.key``, ``ca.crt``)."""
        return cls((directory / "ca.crt").read_bytes(), directory / "tls.crt", directory / "tls.key")


#: Key usages: a CA signs certificates and CRLs; a serving certificate signs and agrees keys.
_CA_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)
_SERVING_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=True,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def service_dns_names(name: str, namespace: str) -> tuple[str, ...]:
    """The names a Service is dialled by; the apiserver uses ``<name>.<namespace>.svc``."""
    return (name, f"{name}.{namespace}", f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local")


def create_serving_material(
    directory: Path, host: str | None = "127.0.0.1", *, dns_names: Sequence[str] = ()
) -> ServingMaterial:
    """Make a CA and a serving certificate for ``host`` (an IP address) and ``dns_names`` in ``directory``."""
    if host is None and not dns_names:
        raise ValueError("a serving certificate needs an IP address or a DNS name")
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # tolerate small clock skew

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "spin-harness-webhook-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    if host is not None:
        names.insert(0, x509.IPAddress(ipaddress.ip_address(host)))
    san = x509.SubjectAlternativeName(names)
    subject = f"spin-harness-webhook@{host or dns_names[0]}"
    issuer_key_id = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_SERVING_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(san, critical=False)
        .add_extension(issuer_key_id, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    material = ServingMaterial(ca_pem, directory / "webhook.crt", directory / "webhook.key")
    write_private(material.key_file, _key_pem(key))
    material.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "ca.crt").write_bytes(ca_pem)
    return material
