"""IEC 61968-9 messages (CIM): the EventMessage envelope, read safely.

Every message from the AMI head-end, the DR application or the CIS is an EventMessage:

    <EventMessage xmlns="http://iec.ch/TC57/2011/schema/message">
      <Header>
        <Verb>created</Verb> <Noun>MeterReadings</Noun>
        <Timestamp>2026-03-01T00:00:00-03:00</Timestamp> <Source>HES</Source>
        <MessageID>…</MessageID> <CorrelationID>…</CorrelationID>
      </Header>
      <Payload> <MeterReadings xmlns="http://iec.ch/TC57/2011/MeterReadings#">…</Payload>
    </EventMessage>

Namespaces differ between head-ends and CIM versions (2009, 2011, 2016), so elements are
matched by local name. Messages related to one another (a DR event, the acknowledgements and
answers it causes) share the Header's CorrelationID (use case 8).

Safety: a document with a DOCTYPE is refused before anything is read from it: no DTD, no
entity declarations (internal or external), no entity expansion, no network access. Small
messages are read whole with defusedxml (`parse_message`); the readings files, which may be
gigabytes, are streamed with lxml (`iterparse`), with the same refusal. Both refuse elements
nested deeper than MAX_DEPTH, and the DR messages posted as JSON are held to it too.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from lxml import etree

VERBS = {
    "create", "created", "change", "changed", "cancel", "canceled", "close", "closed",
    "delete", "deleted", "get", "reply", "execute", "executed", "update", "updated",
}  # fmt: skip


# How deep a message may nest, in elements (XML) or objects and arrays (JSON): the readings
# files and the DR messages alike. It is libxml2's own limit while huge_tree is off, so
# `iterparse` (the readings) has it for free; expat, under `parse_message`, has none, so there
# the depth is counted. A CIM payload nests about ten levels.
MAX_DEPTH = 256
DEPTH_REASON = f"más de {MAX_DEPTH} niveles de anidación"


class MessageError(ValueError):
    """A message or file that cannot be read: `where` names the element or line."""

    def __init__(self, reason: str, where: str = "") -> None:
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason = reason
        self.where = where


@dataclass(frozen=True)
class Header:
    verb: str
    noun: str
    message_id: str
    correlation_id: str
    timestamp: datetime | None = None
    source: str = ""


_LOCAL_NAMES: dict[Any, str] = {}  # tag → local name; a document has few distinct tags


def local(tag: Any) -> str:
    """An element's name without its namespace ('' for comments and processing instructions)."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
        if len(_LOCAL_NAMES) < 10_000:  # bounded, whatever the document holds
            _LOCAL_NAMES[tag] = name
    return name


def child(element: Any, name: str) -> Any | None:
    """The first child element called `name` (any namespace)."""
    for sub in element:
        if local(sub.tag) == name:
            return sub
    return None


def children(element: Any, name: str) -> Iterator[Any]:
    for sub in element:
        if local(sub.tag) == name:
            yield sub


def text(element: Any, name: str) -> str:
    """The stripped text of the child `name`, '' when absent."""
    found = child(element, name)
    return (found.text or "").strip() if found is not None else ""


def parse_timestamp(value: str, where: str = "") -> datetime:
    """An ISO 8601 timestamp with its UTC offset (or Z); a naive one is refused, since a
    reading without an offset is ambiguous on the days the clocks change."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise MessageError(f"fecha y hora inválida: {value[:40]!r}", where) from None
    if parsed.tzinfo is None:
        raise MessageError(f"fecha y hora sin zona horaria: {value[:40]!r}", where)
    return parsed


def read_header(element: Any, where: str = "Header") -> Header:
    """The Header of an EventMessage (the element itself); Verb, Noun and MessageID are
    required, CorrelationID defaults to the MessageID (a message that starts a conversation)."""
    verb = text(element, "Verb").lower()
    noun = text(element, "Noun")
    message_id = text(element, "MessageID")
    missing = [n for n, v in (("Verb", verb), ("Noun", noun), ("MessageID", message_id)) if not v]
    if missing:
        raise MessageError(f"falta {', '.join(missing)} en el encabezado", where)
    if verb not in VERBS:
        raise MessageError(f"verbo desconocido: {verb[:30]!r}", f"{where}/Verb")
    stamp = text(element, "Timestamp")
    return Header(
        verb=verb,
        noun=noun,
        message_id=message_id,
        correlation_id=text(element, "CorrelationID") or message_id,
        timestamp=parse_timestamp(stamp, f"{where}/Timestamp") if stamp else None,
        source=text(element, "Source"),
    )


def parse_message(data: bytes | str) -> tuple[Header, Any]:
    """(header, payload element) of a whole EventMessage held in memory. Refuses DTDs and
    entities (defusedxml), nesting deeper than MAX_DEPTH, and anything that is not an
    EventMessage with a Header."""
    source = io.BytesIO(data) if isinstance(data, bytes) else io.StringIO(data)
    depth = 0
    try:
        events = SafeElementTree.iterparse(
            source,
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        # Counted while parsing, so that a deep document stops early instead of being built.
        for event, _ in events:
            depth += 1 if event == "start" else -1
            if depth > MAX_DEPTH:
                raise MessageError(f"XML con {DEPTH_REASON}")
        root = events.root
    except DefusedXmlException as error:
        raise MessageError(f"XML rechazado por seguridad ({type(error).__name__})") from None
    except SafeElementTree.ParseError as error:
        raise MessageError(f"XML mal formado: {error}") from None
    if local(root.tag) != "EventMessage":
        raise MessageError(f"se esperaba EventMessage, no {local(root.tag)[:40]}", "/")
    header_element = child(root, "Header")
    if header_element is None:
        raise MessageError("falta Header", "EventMessage")
    payload = child(root, "Payload")
    if payload is None:
        raise MessageError("falta Payload", "EventMessage")
    return read_header(header_element, "EventMessage/Header"), payload


def iterparse(source: IO[bytes], tags: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """Stream a large document with lxml: first ("root", the root element), then ("start" |
    "end", element) events for the elements whose local name (any namespace) is in `tags`;
    lxml skips the others without a Python call. Refuses a document with a DOCTYPE before its
    first event; entities are never resolved nor fetched. The caller clears the elements it is
    done with (bounded memory)."""
    events = etree.iterparse(
        source,
        events=("start", "end"),
        tag=[f"{{*}}{name}" for name in tags],
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    checked = False
    try:
        for event, element in events:
            if not checked:
                checked = True
                yield "root", _safe_root(element.getroottree())
            yield event, element
        if not checked and events.root is not None:  # none of `tags` in the document
            yield "root", _safe_root(events.root.getroottree())
    except etree.XMLSyntaxError as error:
        line = f"línea {error.lineno}" if getattr(error, "lineno", None) else ""
        if "Excessive depth" in error.msg:  # libxml2's limit, which MAX_DEPTH restates
            raise MessageError(f"XML con {DEPTH_REASON}", line) from None
        raise MessageError(f"XML mal formado: {error.msg}", line) from None


def _safe_root(tree: Any) -> Any:
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MessageError("XML rechazado por seguridad: el documento declara un DTD")
    return tree.getroot()
