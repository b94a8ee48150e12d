"""Report attachments written in the test: a PDF with a text layer (hand-written, as a lab's PDF writer would:
Helvetica text objects, optionally Flate-compressed), a scanned PDF (one page, no text), HTML, and the FHIR
DiagnosticReport that carries them. No PDF library is needed to write them; pypdf reads them in fhir_mappings."""

from __future__ import annotations

import base64
import zlib


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(lines: list[str], *, compress: bool = False, scanned: bool = False) -> bytes:
    """A one-page PDF 1.4. `scanned`: the page holds only a filled rectangle (an image stand-in), no text."""
    if scanned:
        content = b"q 0.8 g 72 72 451 648 re f Q"
    else:
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 760 Td"] + [f"({_escape(line)}) '" for line in lines] + ["ET"]
        content = "\n".join(ops).encode("latin-1")
    stream_dict = b"<< /Length %d >>" % len(content)
    if compress:
        content = zlib.compress(content)
        stream_dict = b"<< /Length %d /Filter /FlateDecode >>" % len(content)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        stream_dict + b"\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def html(lines: list[str]) -> bytes:
    body = "".join(f"<tr><td>{line.split(': ', 1)[0]}</td><td>{line.split(': ', 1)[1]}</td></tr>"
                   if ": " in line else f"<p>{line}</p>" for line in lines)
    return (f"<!DOCTYPE html><html><head><style>td {{padding: 2px}}</style><title>Report</title></head><body>"
            f"<h2>Hematopathology report</h2><table>{body}</table><p>Electronically signed.</p></body></html>").encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def attachment(content_type: str, data: bytes, title: str | None = None) -> dict:
    a = {"contentType": content_type, "data": b64(data)}
    if title:
        a["title"] = title
    return a


def report(rid: str, *, name: str = "Bone marrow genetics report", when: str = "2025-03-02", pid: str = "p1",
           **fields) -> dict:
    r = {"resourceType": "DiagnosticReport", "id": rid, "status": "final",
         "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "GE"}]}],
         "code": {"text": name}, "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": when,
         "issued": f"{when}T16:20:00Z"}
    r.update(fields)
    return r
