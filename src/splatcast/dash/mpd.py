"""A small MPEG-DASH MPD model (ISO/IEC 23009-1) with symmetric parse/write over lxml.

One dataclass per MPD element that splatcast uses; each has ``from_element`` (parse) and ``to_element`` (write),
and every attribute goes through a typed codec that is its own inverse: ``xs:boolean`` accepts
"true"/"false"/"1"/"0" and writes "true"/"false" (python-mpegdash's ``bool("false")`` bug), list types
(``dependencyId``, ``dependencyLevel``, ``profiles``) are real Python lists, ``xs:duration`` is seconds as float,
byte ranges are ``(first, last)`` inclusive tuples.

Scope: elements and attributes outside this model are skipped on parse (DASH clients ignore what they do not
understand), so parse -> write is lossless only for documents made of the modelled subset (what the packager
writes). A document that is not XML, not an MPD, or carries a modelled attribute with a value of the wrong type
raises :class:`~splatcast.errors.ManifestError` naming the element, the attribute, what was expected and what came.
This module does no I/O beyond bytes in / bytes out and knows nothing about splatcast streams (see ``layout.py``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from lxml import etree

from splatcast.errors import ManifestError

MPD_NS = "urn:mpeg:dash:schema:mpd:2011"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_NS = "{" + MPD_NS + "}"
UINT_MAX = 2**32 - 1
# longest integer text read anywhere in a manifest: 20 digits hold any u64; longer text is refused before int()
# (Python's int() of > 4300 digits raises a bare ValueError, and of fewer still costs time quadratic in length)
MAX_INT_DIGITS = 20
# an MPD is a small text file; anything bigger is not one of ours and is refused before parsing
MAX_MPD_BYTES = 16 * 1024 * 1024
# element counts an MPD may hold (a splatcast MPD has 1 Period, 1 AdaptationSet (one per tile of a tiled stream:
# up to 4096, the format's tile limit), a Representation per layer and 2 SubRepresentations per chunk): checked
# after parsing, before the model is built, so that 16 MiB of empty elements is refused in milliseconds instead
# of being modelled for seconds
MAX_MPD_ELEMENTS = 1 << 18
MAX_CHILDREN = {"Period": 64, "AdaptationSet": 4096, "Representation": 256}


# ----------------------------------------------------------------------------------------------- attribute codecs
def _where(el: etree._Element) -> str:
    return f"<{etree.QName(el).localname}> (line {el.sourceline})"


def parse_bool(text: str, where: str = "value") -> bool:
    """xs:boolean: exactly 'true', 'false', '1', '0' (surrounding whitespace collapsed)."""
    t = text.strip()
    if t in ("true", "1"):
        return True
    if t in ("false", "0"):
        return False
    raise ManifestError(f"{where}: expected xs:boolean (true/false/1/0), got {text!r}")


def parse_uint(text: str, where: str = "value", maximum: int | None = UINT_MAX) -> int:
    t = text.strip()
    if not t.isdigit() or not t.isascii() or len(t) > MAX_INT_DIGITS:
        raise ManifestError(f"{where}: expected an unsigned integer of <= {MAX_INT_DIGITS} digits, got {text[:40]!r}")
    value = int(t)
    if maximum is not None and value > maximum:
        raise ManifestError(f"{where}: expected an unsigned integer <= {maximum}, got {value}")
    return value


_DURATION_RE = re.compile(  # every number at most MAX_INT_DIGITS digits (seconds: 20 + 20 after the point)
    r"^(-)?P(?:(\d{1,20})Y)?(?:(\d{1,20})M)?(?:(\d{1,20})D)?"
    r"(?:T(?:(\d{1,20})H)?(?:(\d{1,20})M)?(?:(\d{1,20}(?:\.\d{0,20})?|\.\d{1,20})S)?)?$"
)


def parse_duration(text: str, where: str = "value") -> float:
    """xs:duration -> seconds. Years and months have no fixed length, so they are refused (never used by DASH
    presentations of finite length in practice)."""
    t = text.strip()
    m = _DURATION_RE.match(t)
    if m is None or t in ("P", "-P") or t.endswith("T"):
        raise ManifestError(f"{where}: expected an xs:duration like 'PT1.5S', got {text[:64]!r}")
    neg, years, months, days, hours, minutes, seconds = m.groups()
    if (years and int(years)) or (months and int(months)):
        raise ManifestError(f"{where}: durations in years/months are not supported, got {text[:64]!r}")
    value = int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    if neg:
        raise ManifestError(f"{where}: expected a non-negative duration, got {text[:64]!r}")
    return value


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"duration must be finite and >= 0, got {seconds}")
    text = repr(float(seconds))
    if text.endswith(".0"):
        text = text[:-2]
    if "e" in text:  # xs:duration has no exponent form
        text = f"{seconds:.9f}".rstrip("0").rstrip(".")
    return f"PT{text}S"


_RANGE_RE = re.compile(r"^(\d{1,20})-(\d{1,20})$")  # MAX_INT_DIGITS


def parse_range(text: str, where: str = "value") -> tuple[int, int]:
    """SingleRFC7233RangeType restricted to a closed range 'first-last' (inclusive, first <= last)."""
    m = _RANGE_RE.match(text.strip())
    if m is None:
        raise ManifestError(f"{where}: expected a byte range 'first-last', got {text[:64]!r}")
    first, last = int(m.group(1)), int(m.group(2))
    if first > last:
        raise ManifestError(f"{where}: byte range first={first} > last={last}")
    return first, last


def format_range(r: tuple[int, int]) -> str:
    return f"{r[0]}-{r[1]}"


def _get(el, name: str, conv, required: bool = False):
    text = el.get(name)
    if text is None:
        if required:
            raise ManifestError(f"{_where(el)}: missing required attribute @{name}")
        return None
    return conv(text, f"{_where(el)} @{name}")


def _str(text: str, where: str) -> str:
    return text


def _str_list(text: str, where: str) -> list[str]:
    return text.split()


def _uint_list(text: str, where: str) -> list[int]:
    return [parse_uint(t, where) for t in text.split()]


def _profiles(text: str, where: str) -> list[str]:
    items = [t.strip() for t in text.split(",")]
    if not all(items):
        raise ManifestError(f"{where}: expected a comma-separated list of profile URIs, got {text!r}")
    return items


def _set(el, name: str, value, fmt=str) -> None:
    if value is None:
        return
    el.set(name, fmt(value))


def _fmt_bool(v: bool) -> str:
    return "true" if v else "false"


def _fmt_list(v: list) -> str:
    return " ".join(str(x) for x in v)


def _children(el, name: str):
    found = el.findall(_NS + name)
    limit = MAX_CHILDREN.get(name)
    if limit is not None and len(found) > limit:
        raise ManifestError(f"{_where(el)}: {len(found)} <{name}> elements, at most {limit} are read")
    return found


def _text(el) -> str:
    return (el.text or "").strip()


# ----------------------------------------------------------------------------------------------------- elements
@dataclass
class Descriptor:
    """DescriptorType: EssentialProperty, SupplementalProperty, Role, ..."""

    scheme_id_uri: str
    value: str | None = None
    id: str | None = None

    @classmethod
    def from_element(cls, el) -> Descriptor:
        return cls(
            scheme_id_uri=_get(el, "schemeIdUri", _str, required=True),
            value=_get(el, "value", _str),
            id=_get(el, "id", _str),
        )

    def to_element(self, tag: str):
        el = etree.Element(_NS + tag)
        _set(el, "schemeIdUri", self.scheme_id_uri)
        _set(el, "value", self.value)
        _set(el, "id", self.id)
        return el


@dataclass
class URLType:
    """URLType: Initialization / RepresentationIndex (a byte range of a media file)."""

    source_url: str | None = None
    range: tuple[int, int] | None = None

    @classmethod
    def from_element(cls, el) -> URLType:
        return cls(source_url=_get(el, "sourceURL", _str), range=_get(el, "range", parse_range))

    def to_element(self, tag: str):
        el = etree.Element(_NS + tag)
        _set(el, "sourceURL", self.source_url)
        _set(el, "range", self.range, format_range)
        return el


@dataclass
class SegmentBase:
    index_range: tuple[int, int] | None = None
    index_range_exact: bool | None = None
    timescale: int | None = None
    initialization: URLType | None = None
    representation_index: URLType | None = None

    @classmethod
    def from_element(cls, el) -> SegmentBase:
        init = el.find(_NS + "Initialization")
        rep_index = el.find(_NS + "RepresentationIndex")
        return cls(
            index_range=_get(el, "indexRange", parse_range),
            index_range_exact=_get(el, "indexRangeExact", parse_bool),
            timescale=_get(el, "timescale", parse_uint),
            initialization=None if init is None else URLType.from_element(init),
            representation_index=None if rep_index is None else URLType.from_element(rep_index),
        )

    def to_element(self):
        el = etree.Element(_NS + "SegmentBase")
        _set(el, "timescale", self.timescale)
        _set(el, "indexRange", self.index_range, format_range)
        _set(el, "indexRangeExact", self.index_range_exact, _fmt_bool)
        if self.initialization is not None:
            el.append(self.initialization.to_element("Initialization"))
        if self.representation_index is not None:
            el.append(self.representation_index.to_element("RepresentationIndex"))
        return el


def _descriptors(el, tag: str) -> list[Descriptor]:
    return [Descriptor.from_element(c) for c in _children(el, tag)]


def _append_properties(el, obj) -> None:
    """``obj``'s EssentialProperty then SupplementalProperty children (the schema's order) onto ``el``."""
    for d in obj.essential_properties:
        el.append(d.to_element("EssentialProperty"))
    for d in obj.supplemental_properties:
        el.append(d.to_element("SupplementalProperty"))


@dataclass
class SubRepresentation:
    level: int | None = None
    dependency_level: list[int] = field(default_factory=list)
    bandwidth: int | None = None
    content_component: list[str] = field(default_factory=list)
    mime_type: str | None = None
    codecs: str | None = None
    essential_properties: list[Descriptor] = field(default_factory=list)
    supplemental_properties: list[Descriptor] = field(default_factory=list)

    @classmethod
    def from_element(cls, el) -> SubRepresentation:
        return cls(
            level=_get(el, "level", parse_uint),
            dependency_level=_get(el, "dependencyLevel", _uint_list) or [],
            bandwidth=_get(el, "bandwidth", parse_uint),
            content_component=_get(el, "contentComponent", _str_list) or [],
            mime_type=_get(el, "mimeType", _str),
            codecs=_get(el, "codecs", _str),
            essential_properties=_descriptors(el, "EssentialProperty"),
            supplemental_properties=_descriptors(el, "SupplementalProperty"),
        )

    def to_element(self):
        el = etree.Element(_NS + "SubRepresentation")
        _set(el, "mimeType", self.mime_type)
        _set(el, "codecs", self.codecs)
        _set(el, "level", self.level)
        if self.dependency_level:
            _set(el, "dependencyLevel", self.dependency_level, _fmt_list)
        _set(el, "bandwidth", self.bandwidth)
        if self.content_component:
            _set(el, "contentComponent", self.content_component, _fmt_list)
        _append_properties(el, self)
        return el


@dataclass
class Representation:
    id: str
    bandwidth: int
    dependency_id: list[str] = field(default_factory=list)
    quality_ranking: int | None = None
    mime_type: str | None = None
    codecs: str | None = None
    base_urls: list[str] = field(default_factory=list)
    essential_properties: list[Descriptor] = field(default_factory=list)
    supplemental_properties: list[Descriptor] = field(default_factory=list)
    sub_representations: list[SubRepresentation] = field(default_factory=list)
    segment_base: SegmentBase | None = None

    @classmethod
    def from_element(cls, el) -> Representation:
        sb = el.find(_NS + "SegmentBase")
        rep_id = _get(el, "id", _str, required=True)
        if not rep_id or any(c.isspace() for c in rep_id):
            raise ManifestError(f"{_where(el)} @id: expected a non-empty string without whitespace, got {rep_id!r}")
        return cls(
            id=rep_id,
            bandwidth=_get(el, "bandwidth", parse_uint, required=True),
            dependency_id=_get(el, "dependencyId", _str_list) or [],
            quality_ranking=_get(el, "qualityRanking", parse_uint),
            mime_type=_get(el, "mimeType", _str),
            codecs=_get(el, "codecs", _str),
            base_urls=[_text(c) for c in _children(el, "BaseURL")],
            essential_properties=_descriptors(el, "EssentialProperty"),
            supplemental_properties=_descriptors(el, "SupplementalProperty"),
            sub_representations=[SubRepresentation.from_element(c) for c in _children(el, "SubRepresentation")],
            segment_base=None if sb is None else SegmentBase.from_element(sb),
        )

    def to_element(self):
        el = etree.Element(_NS + "Representation")
        _set(el, "id", self.id)
        _set(el, "bandwidth", self.bandwidth)
        _set(el, "qualityRanking", self.quality_ranking)
        if self.dependency_id:
            _set(el, "dependencyId", self.dependency_id, _fmt_list)
        _set(el, "mimeType", self.mime_type)
        _set(el, "codecs", self.codecs)
        # schema order: RepresentationBaseType children first, then BaseURL, SubRepresentation, SegmentBase
        _append_properties(el, self)
        for url in self.base_urls:
            etree.SubElement(el, _NS + "BaseURL").text = url
        for sub in self.sub_representations:
            el.append(sub.to_element())
        if self.segment_base is not None:
            el.append(self.segment_base.to_element())
        return el


@dataclass
class AdaptationSet:
    id: int | None = None
    content_type: str | None = None
    mime_type: str | None = None
    codecs: str | None = None
    segment_alignment: bool | None = None
    subsegment_alignment: bool | None = None
    subsegment_starts_with_sap: int | None = None
    essential_properties: list[Descriptor] = field(default_factory=list)
    supplemental_properties: list[Descriptor] = field(default_factory=list)
    roles: list[Descriptor] = field(default_factory=list)
    base_urls: list[str] = field(default_factory=list)
    representations: list[Representation] = field(default_factory=list)

    @classmethod
    def from_element(cls, el) -> AdaptationSet:
        return cls(
            id=_get(el, "id", parse_uint),
            content_type=_get(el, "contentType", _str),
            mime_type=_get(el, "mimeType", _str),
            codecs=_get(el, "codecs", _str),
            segment_alignment=_get(el, "segmentAlignment", parse_bool),
            subsegment_alignment=_get(el, "subsegmentAlignment", parse_bool),
            subsegment_starts_with_sap=_get(el, "subsegmentStartsWithSAP", parse_uint),
            essential_properties=_descriptors(el, "EssentialProperty"),
            supplemental_properties=_descriptors(el, "SupplementalProperty"),
            roles=_descriptors(el, "Role"),
            base_urls=[_text(c) for c in _children(el, "BaseURL")],
            representations=[Representation.from_element(c) for c in _children(el, "Representation")],
        )

    def to_element(self):
        el = etree.Element(_NS + "AdaptationSet")
        _set(el, "id", self.id)
        _set(el, "contentType", self.content_type)
        _set(el, "mimeType", self.mime_type)
        _set(el, "codecs", self.codecs)
        _set(el, "segmentAlignment", self.segment_alignment, _fmt_bool)
        _set(el, "subsegmentAlignment", self.subsegment_alignment, _fmt_bool)
        _set(el, "subsegmentStartsWithSAP", self.subsegment_starts_with_sap)
        _append_properties(el, self)
        for d in self.roles:
            el.append(d.to_element("Role"))
        for url in self.base_urls:
            etree.SubElement(el, _NS + "BaseURL").text = url
        for rep in self.representations:
            el.append(rep.to_element())
        return el


@dataclass
class Period:
    id: str | None = None
    start_s: float | None = None
    duration_s: float | None = None
    base_urls: list[str] = field(default_factory=list)
    adaptation_sets: list[AdaptationSet] = field(default_factory=list)

    @classmethod
    def from_element(cls, el) -> Period:
        return cls(
            id=_get(el, "id", _str),
            start_s=_get(el, "start", parse_duration),
            duration_s=_get(el, "duration", parse_duration),
            base_urls=[_text(c) for c in _children(el, "BaseURL")],
            adaptation_sets=[AdaptationSet.from_element(c) for c in _children(el, "AdaptationSet")],
        )

    def to_element(self):
        el = etree.Element(_NS + "Period")
        _set(el, "id", self.id)
        _set(el, "start", self.start_s, format_duration)
        _set(el, "duration", self.duration_s, format_duration)
        for url in self.base_urls:
            etree.SubElement(el, _NS + "BaseURL").text = url
        for aset in self.adaptation_sets:
            el.append(aset.to_element())
        return el


@dataclass
class MPD:
    profiles: list[str]
    min_buffer_time_s: float
    type: str = "static"
    media_presentation_duration_s: float | None = None
    title: str | None = None
    base_urls: list[str] = field(default_factory=list)
    periods: list[Period] = field(default_factory=list)
    essential_properties: list[Descriptor] = field(default_factory=list)
    supplemental_properties: list[Descriptor] = field(default_factory=list)

    @classmethod
    def from_element(cls, el) -> MPD:
        if el.tag != _NS + "MPD":
            raise ManifestError(f"root element: expected {{{MPD_NS}}}MPD, got {el.tag!r}")
        kind = _get(el, "type", _str) or "static"
        if kind not in ("static", "dynamic"):
            raise ManifestError(f"{_where(el)} @type: expected 'static' or 'dynamic', got {kind!r}")
        info = el.find(_NS + "ProgramInformation")
        title = None
        if info is not None and info.find(_NS + "Title") is not None:
            title = _text(info.find(_NS + "Title"))
        periods = _children(el, "Period")
        if not periods:
            raise ManifestError(f"{_where(el)}: expected at least one <Period>, got none")
        return cls(
            profiles=_get(el, "profiles", _profiles, required=True),
            min_buffer_time_s=_get(el, "minBufferTime", parse_duration, required=True),
            type=kind,
            media_presentation_duration_s=_get(el, "mediaPresentationDuration", parse_duration),
            title=title,
            base_urls=[_text(c) for c in _children(el, "BaseURL")],
            periods=[Period.from_element(p) for p in periods],
            essential_properties=_descriptors(el, "EssentialProperty"),
            supplemental_properties=_descriptors(el, "SupplementalProperty"),
        )

    def to_element(self):
        root = etree.Element(_NS + "MPD", nsmap={None: MPD_NS, "xsi": XSI_NS})
        root.set("{" + XSI_NS + "}schemaLocation", f"{MPD_NS} DASH-MPD.xsd")
        _set(root, "type", self.type)
        _set(root, "profiles", self.profiles, ",".join)
        _set(root, "minBufferTime", self.min_buffer_time_s, format_duration)
        _set(root, "mediaPresentationDuration", self.media_presentation_duration_s, format_duration)
        if self.title is not None:
            info = etree.SubElement(root, _NS + "ProgramInformation")
            etree.SubElement(info, _NS + "Title").text = self.title
        for url in self.base_urls:
            etree.SubElement(root, _NS + "BaseURL").text = url
        for p in self.periods:
            root.append(p.to_element())
        for d in self.essential_properties:
            root.append(d.to_element("EssentialProperty"))
        for d in self.supplemental_properties:
            root.append(d.to_element("SupplementalProperty"))
        return root


# ---------------------------------------------------------------------------------------------------- bytes I/O
def parse_mpd(data: bytes) -> MPD:
    """Parse MPD XML bytes. Raises ManifestError for anything that is not a well-formed MPD of the modelled subset.

    The parser refuses DTDs/entities and network access (an MPD comes from the network: no XXE, no billion laughs).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ManifestError(f"MPD: expected bytes, got {type(data).__name__}")
    if len(data) > MAX_MPD_BYTES:
        raise ManifestError(f"MPD: {len(data)} bytes exceeds the limit of {MAX_MPD_BYTES}")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(bytes(data), parser)
    except etree.XMLSyntaxError as exc:
        raise ManifestError(f"MPD: not well-formed XML: {exc}") from None
    if root is None:
        raise ManifestError("MPD: empty document")
    # a DOCTYPE with an internal subset could define entities; an MPD never needs one
    if root.getroottree().docinfo.internalDTD is not None or root.getroottree().docinfo.doctype:
        raise ManifestError("MPD: a DOCTYPE is not allowed in an MPD")
    n_elements = sum(1 for _ in root.iter())
    if n_elements > MAX_MPD_ELEMENTS:
        raise ManifestError(f"MPD: {n_elements} elements, at most {MAX_MPD_ELEMENTS} are read")
    return MPD.from_element(root)


def write_mpd(mpd: MPD) -> bytes:
    """Serialise to UTF-8 XML bytes (deterministic: fixed attribute order, two-space indent)."""
    root = mpd.to_element()
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
