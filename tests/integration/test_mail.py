"""Outgoing e-mail over STARTTLS checks the server's certificate, as a real mail server's would be checked."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.lib.mail import Mail, send_mail
from tests.support.environment import environment
from tests.support.mailbox import Mailbox
from tests.support.server import free_port


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.pem", directory / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def test_starttls_refuses_a_certificate_it_cannot_trust_and_takes_one_the_operator_trusts(
    tmp_path: Path,
) -> None:
    """smtplib's STARTTLS without a context checked no certificate: a server in between took the SMTP login and
    the password reset links."""
    cert_path, key_path = _certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=server_context, require_starttls=True)
    controller.start()
    try:
        settings = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_STARTTLS": "true", "SMTP_USER": None}
        with environment(**settings, SSL_CERT_FILE=None), pytest.raises(ssl.SSLError):
            await send_mail(Mail("ada@example.com", "Reset your password", "A secret link"))
        assert mailbox.messages == []
        # An operator whose mail server has a private CA trusts it by SSL_CERT_FILE.
        with environment(**settings, SSL_CERT_FILE=str(cert_path)):
            assert await send_mail(Mail("ada@example.com", "Reset your password", "A secret link"))
        assert [message["Subject"] for message in mailbox.messages] == ["Reset your password"]
    finally:
        controller.stop()
