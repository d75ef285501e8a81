"""GeoReport v2 bodies as JSON or XML.

JSON is the specification's programmatic mapping of its XML (the "Spark convention"): a list
element becomes a bare array of its children, a leaf element a value. So each answer is built
once as plain data and written either way; the XML names of list items come from ITEM_NAMES.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree

import orjson
from aiohttp import web


class Format(StrEnum):
    JSON = "json"
    XML = "xml"


# Each list element of the specification and the name of its children.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
CONTENT_TYPES = {Format.JSON: "application/json", Format.XML: "text/xml"}
# Characters XML 1.0 cannot carry at all, even escaped (JSON can): shown as U+FFFD in XML answers.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'  # the specification's own spelling


def w3c(value: dt.datetime | None, tz: dt.tzinfo) -> str | None:
    """A W3C datetime with its offset, to the second (the specification's examples' form)."""
    return value.astimezone(tz).replace(microsecond=0).isoformat() if value else None


def respond(body: Any, root: str, fmt: Format, status: int = 200) -> web.Response:
    """``body`` (a list for a list ``root``, else a dict) written in ``fmt``."""
    if fmt is Format.XML:
        data = _xml_document(root, body)
    else:
        data = orjson.dumps(body)
    return web.Response(body=data, status=status, content_type=CONTENT_TYPES[fmt], charset="utf-8")


def _xml_document(root: str, body: Any) -> bytes:
    element = ElementTree.Element(root)
    _fill(element, root, body)
    return XML_DECLARATION + ElementTree.tostring(element, encoding="unicode").encode()


def _fill(element: ElementTree.Element, name: str, value: Any) -> None:
    if isinstance(value, list):
        item = ITEM_NAMES[name]
        for entry in value:
            _fill(ElementTree.SubElement(element, item), item, entry)
    elif isinstance(value, dict):
        for key, entry in value.items():
            _fill(ElementTree.SubElement(element, key), key, entry)
    elif value is None:
        return  # an empty element: the XML form of null
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = NOT_XML.sub("\ufffd", str(value))
