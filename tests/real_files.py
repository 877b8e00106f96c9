"""Real files of every kind a school may send, and some it may not, built byte by byte (or by the library that
writes them): the same bytes a channel would fetch, for any test that sends files."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image


def png(width: int = 3, height: int = 2) -> bytes:
    """A real PNG: signature, IHDR, one zlib-compressed IDAT of RGB scanlines, IEND, each chunk with its CRC."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    rows = b"".join(b"\x00" + bytes([40, 120, 200]) * width for _ in range(height))  # filter 0 per row
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def jpeg() -> bytes:
    """A real JPEG photo (JFIF), as a phone's camera would send one, encoded by Pillow."""
    out = io.BytesIO()
    Image.new("RGB", (16, 8), (90, 160, 60)).save(out, format="JPEG", quality=80)
    return out.getvalue()


def pdf(text: str = "Site plan: the old library, 64 square metres", *, pad_to: int = 0) -> bytes:
    """A minimal valid PDF: catalogue, pages, one page with a line of text, its font, a cross-reference table with
    the real offsets, and the trailer. `pad_to` makes it that many bytes (a comment before the end), still valid."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    tail = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    if pad_to:
        filler = pad_to - len(out) - len(tail) - 2
        out += b"%" + b"x" * filler + b"\n"
    return bytes(out + tail)


def office_package(parts: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    return out.getvalue()


RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="{}"/></Relationships>'
)


def _content_types(main: str, media_type: str, *more: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{main}" ContentType="{media_type}"/>' + "".join(more) + "</Types>"
    )


def docx(text: str = "The governing body agreed to host a Resourced Provision.") -> bytes:
    """A real Word document: the package's content types, its relationships and the main document part."""
    return office_package(
        {
            "[Content_Types].xml": _content_types(
                "word/document.xml",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            ),
            "_rels/.rels": RELS.format("word/document.xml"),
            "word/document.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>",
        }
    )


def xlsx() -> bytes:
    """A real Excel workbook: one sheet of costs."""
    sheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    return office_package(
        {
            "[Content_Types].xml": _content_types(
                "xl/workbook.xml",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{sheet}"/>',
            ),
            "_rels/.rels": RELS.format("xl/workbook.xml"),
            "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Costs" sheetId="1" r:id="rId1"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": RELS.replace('officeDocument" Target', 'worksheet" Target').format(
                "worksheets/sheet1.xml"
            ),
            "xl/worksheets/sheet1.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>Adaptations</t></is></c><c r="B1"><v>45000</v></c></row>'
            "</sheetData></worksheet>",
        }
    )


def executable() -> bytes:
    """A Windows program: the MZ header, the DOS stub's words and a PE header, as any .exe begins."""
    stub = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + struct.pack("<I", 64)
    return stub + b"PE\x00\x00" + b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 200


def plain_zip() -> bytes:
    """A ZIP of photos: a real archive, but neither a Word document nor a workbook."""
    return office_package({"photos/readme.txt": "Photos of the space, to follow.", "photos/list.csv": "room,size\n"})
