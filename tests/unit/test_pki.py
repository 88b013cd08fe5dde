"""Cluster PKI: the right names on the certificates and private files."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from harness.providers.local import certificates, pki


def test_pki_files_and_names(tmp_path: Path) -> None:
    made = certificates.create_pki(tmp_path / "pki", "demo")
    assert stat.S_IMODE(made.directory.stat().st_mode) == 0o700
    for key in made.directory.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    serving = x509.load_pem_x509_certificate(made.serving_cert.read_bytes())
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    ca = x509.load_pem_x509_certificate(made.ca_cert.read_bytes())
    serving.verify_directly_issued_by(ca)
    admin = x509.load_pem_x509_certificate(made.client_cert(pki.ADMIN).read_bytes())
    assert admin.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == pki.ADMIN.user
    assert [a.value for a in admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["system:masters"]
    scheduler = x509.load_pem_x509_certificate(made.client_cert(pki.SCHEDULER).read_bytes())
    assert scheduler.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:kube-scheduler"
