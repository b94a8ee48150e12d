"""Bounds on what one call may make us do: JSON nesting depth, decompressed size, item counts.

The same bounds hold for what the EHR sends us and for what its FHIR server answers, so that no input, however
hostile, can recurse us out of the stack, inflate in memory past its cap, or hold a worker beyond its deadline.
Item caps on draft orders and feedback entries live in the JSON Schemas (`maxItems`), where the error names them.
"""

from __future__ import annotations

import re
import zlib
from typing import Iterable

# FHIR resources nest ~10-25 levels (Bundle > entry > resource > contained > extension > extension ...);
# 64 leaves wide room and stays far below what recursion in jsonschema, deepcopy or a JSON column survives.
MAX_JSON_DEPTH = 64


class TooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH."""


class TooLarge(ValueError):
    """A body larger than its cap once decompressed."""


class BadEncoding(ValueError):
    """A Content-Encoding we do not decode, or bytes that are not what the encoding says."""


# For `check_json_depth`: brackets become one kind (depth is all that counts), quotes stay, all else goes.
_ONE_BRACKET = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'"[]{}'))
_ESCAPE = re.compile(rb"\\.", re.DOTALL)  # a backslash and the character it escapes (of \uXXXX, the u)


def check_json_depth(data: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise TooDeep if the JSON text `data` nests containers deeper than `limit`. `data` must have parsed
    without error (so is well formed). Read in C-speed passes: a quarter of the cost of walking the parsed tree
    (it runs on every request body and FHIR answer; tests hold it to that walk).

    Escapes go first (read left to right as the JSON lexer does, so that an escaped quote ends no string),
    then everything but quotes and brackets. Of strings, a quote pair with nothing between is dropped whole
    (strings without brackets: nearly all); the rare one holding brackets (an ISCN cell count "[20]") by
    splitting on quotes. Then each pass deletes the innermost "[]" pairs: `n` passes empty a document `n`
    levels deep."""
    if b"\\" in data:
        data = _ESCAPE.sub(b"", data)
    structure = data.translate(_ONE_BRACKET, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])
    for _ in range(limit):
        if not structure:
            return
        structure = structure.replace(b"[]", b"")
    if structure:
        raise TooDeep(f"JSON nested deeper than {limit} levels")


def decoder_for(content_encoding: str | None):
    """A zlib decompressor for `Content-Encoding` (None for identity); BadEncoding for anything else."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib-wrapped (the HTTP meaning); auto-detects gzip too
    raise BadEncoding(f"Content-Encoding {encoding[:20]!r} is not supported (send identity or gzip)")


def read_capped(chunks: Iterable[bytes], content_encoding: str | None, cap: int) -> bytes:
    """The body made of `chunks`, decompressed per `content_encoding`, refused (TooLarge) past `cap` bytes
    of decoded content. Decompression never produces more than the cap allows, so a gzip bomb costs at most
    `cap` bytes of memory."""
    decoder = decoder_for(content_encoding)
    if decoder is None:  # the pieces joined once (a body in one piece is not copied at all)
        pieces, size = [], 0
        for chunk in chunks:
            size += len(chunk)
            if size > cap:
                raise TooLarge(f"the body exceeds {cap} bytes")
            pieces.append(chunk)
        return b"".join(pieces)
    out = bytearray()
    try:
        for chunk in chunks:
            data = chunk
            while data:
                out += decoder.decompress(data, cap + 1 - len(out))
                if len(out) > cap:
                    break
                data = decoder.unconsumed_tail
            if len(out) > cap:
                raise TooLarge(f"the body exceeds {cap} bytes")
        out += decoder.flush()
        if not decoder.eof:
            raise BadEncoding("the compressed body is truncated")
    except zlib.error:
        raise BadEncoding("the body is not valid for its Content-Encoding") from None
    if len(out) > cap:
        raise TooLarge(f"the body exceeds {cap} bytes")
    return bytes(out)
