"""The throwaway CA and server certificate of `hftlab sim --tls`."""

from __future__ import annotations

import asyncio
import ipaddress

from cryptography import x509

from hftlab.sim import tls


def test_certificates_name_the_loopback_and_chain_to_the_ca(tmp_path):
    files = tls.make_certificates(tmp_path, host="10.1.2.3")
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address(h) for h in
                                                             ("127.0.0.1", "::1", "10.1.2.3")}
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert cert.issuer == ca.subject and ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.verify_directly_issued_by(ca)
    assert oct(files.key.stat().st_mode & 0o777) == "0o600"


async def test_a_client_trusting_the_ca_completes_the_handshake(tmp_path):
    files = tls.make_certificates(tmp_path)

    async def serve(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls.server_context(files))
    port = server.sockets[0].getsockname()[1]
    async with server:
        for host in ("127.0.0.1", "localhost"):
            reader, writer = await asyncio.open_connection(host, port, ssl=tls.client_context(files))
            writer.write(b"hello\n")
            assert await reader.readline() == b"hello\n"
            writer.close()
