"""An XForm (what pyxform makes of an XLSForm, and what ODK Collect itself reads) as a form
definition: the instance template, the binds, the body's groups, repeats and controls, the
translations and the secondary instances (choice lists, CSV files shipped with the form).

The definition is read once per form version (:func:`parse_xform`, cached by the caller) and
is immutable; :mod:`kiosk.domain.form_session` fills it. Reading the XForm rather than
pyxform's JSON means every reference is already a path (``${age}`` inside a repeat becomes
``../age`` or ``/data/members/age``), exactly as Collect evaluates it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from kiosk.domain import xpath

XF = "http://www.w3.org/2002/xforms"
H = "http://www.w3.org/1999/xhtml"
JR = "http://openrosa.org/javarosa"
ODK = "http://www.opendatakit.org/xforms"
NS = {"xf": XF, "h": H, "jr": JR, "odk": ODK}

#: the controls of the body that hold an answer (``trigger`` is an acknowledgement)
CONTROLS = {"input", "select1", "select", "trigger", "upload", "range", "rank", "textarea"}
_ITEXT = re.compile(r"""^\s*jr:itext\(\s*(?:'([^']*)'|"([^"]*)")\s*\)\s*$""")
_ITEXT_DYNAMIC = re.compile(r"""^\s*jr:itext\(\s*(.+?)\s*\)\s*$""")


class XFormError(ValueError):
    """An XForm this engine cannot read; ``detail`` says what."""


# A text is a tuple of parts: a string, or ("output", expression) to evaluate and insert.
Part = str | tuple[str, str]
Text = tuple[Part, ...]


@dataclass(frozen=True)
class Label:
    """A label, hint or message: an itext id (one text per language) or inline text."""

    itext: str | None = None
    inline: Text = ()
    #: an expression giving the itext id (itemsets: ``jr:itext(itextId)``), or a plain ref
    dynamic: str | None = None
    ref: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.itext or self.inline or self.dynamic or self.ref)


@dataclass(frozen=True)
class Bind:
    path: str
    type: str = "string"
    relevant: str = ""
    constraint: str = ""
    calculate: str = ""
    required: str = ""
    readonly: str = ""
    constraint_msg: Label = Label()
    required_msg: Label = Label()
    preload: str = ""
    preload_params: str = ""


@dataclass(frozen=True)
class Item:
    value: str
    label: Label


@dataclass(frozen=True)
class Itemset:
    nodeset: str
    value_ref: str
    label: Label


@dataclass(frozen=True)
class Control:
    kind: str  # input | select1 | select | trigger | upload | range | rank | textarea
    ref: str  # the generic absolute path of the node it fills
    label: Label
    hint: Label
    appearance: str = ""
    items: tuple[Item, ...] = ()
    itemset: Itemset | None = None
    mediatype: str = ""
    range: tuple[float, float, float] | None = None  # start, end, step
    row: int = 0  # source line of the XForm body (for messages)
    #: ``setvalue`` on ``xforms-value-changed``: (target path, expression) set when it changes
    on_change: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Group:
    ref: str | None
    label: Label
    appearance: str
    children: tuple[Any, ...]  # Group | Control
    repeat: bool = False
    count: str = ""  # jr:count: the number of instances follows this expression
    fixed: bool = False  # jr:noAddRemove


@dataclass
class FormDef:
    name: str
    title: str
    version: str
    template: Any  # lxml element of the primary instance's root (with jr:template repeats)
    binds: dict[str, Bind]
    body: tuple[Any, ...]
    itext: dict[str, dict[str, Text]]  # language -> id -> text
    languages: tuple[str, ...]
    default_language: str | None
    secondary: dict[str, xpath.Node]
    #: generic paths of repeats (their template's element, without indexes)
    repeats: dict[str, Any] = field(default_factory=dict)
    #: the body's control for each generic path
    controls: dict[str, Control] = field(default_factory=dict)
    #: ``setvalue`` on ``odk-instance-first-load`` (dynamic defaults) and ``odk-new-repeat``:
    #: (target path, expression), in form order
    first_load: tuple[tuple[str, str], ...] = ()
    new_repeat: tuple[tuple[str, str], ...] = ()
    #: the id of the instance holding the last saved response (``jr://instance/last-saved``)
    last_saved: str | None = None


def _local(tag: Any) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and "}" in tag else str(tag)


def _text_parts(el: Any) -> Text:
    """Text with ``<output value="..."/>`` inside it, as parts."""
    parts: list[Part] = []
    if el.text:
        parts.append(el.text)
    for child in el:
        if _local(child.tag) == "output":
            expr = child.get("value") or child.get("ref") or ""
            if expr.strip():
                parts.append(("output", expr.strip()))
        if child.tail:
            parts.append(child.tail)
    # collapse the indentation pretty-printing adds, keep inner spaces
    if parts and isinstance(parts[0], str):
        parts[0] = parts[0].lstrip()
    if parts and isinstance(parts[-1], str):
        parts[-1] = parts[-1].rstrip()
    return tuple(p for p in parts if p != "")


def _label(el: Any) -> Label:
    if el is None:
        return Label()
    ref = el.get("ref")
    if ref:
        m = _ITEXT.match(ref)
        if m:
            return Label(itext=m.group(1) if m.group(1) is not None else m.group(2))
        m = _ITEXT_DYNAMIC.match(ref)
        if m:
            return Label(dynamic=m.group(1))
        return Label(ref=ref)
    return Label(inline=_text_parts(el))


def _find(el: Any, name: str) -> Any:
    for child in el:
        if _local(child.tag) == name:
            return child
    return None


def _generic(path: str) -> str:
    """``/data/members[2]/age`` -> ``/data/members/age``; spaces pyxform adds trimmed."""
    return re.sub(r"\[[^\]]*\]", "", path.strip())


def _bind(el: Any) -> Bind:
    def msg(attr: str) -> Label:
        raw = el.get(f"{{{JR}}}{attr}")
        if not raw:
            return Label()
        m = _ITEXT.match(raw)
        if m:
            return Label(itext=m.group(1) if m.group(1) is not None else m.group(2))
        return Label(inline=(raw,))

    kind = (el.get("type") or "string").split(":")[-1]
    return Bind(
        path=_generic(el.get("nodeset") or el.get("ref") or ""),
        type=kind,
        relevant=(el.get("relevant") or "").strip(),
        constraint=(el.get("constraint") or "").strip(),
        calculate=(el.get("calculate") or "").strip(),
        required=(el.get("required") or "").strip(),
        readonly=(el.get("readonly") or "").strip(),
        constraint_msg=msg("constraintMsg"),
        required_msg=msg("requiredMsg"),
        preload=el.get(f"{{{JR}}}preload") or "",
        preload_params=el.get(f"{{{JR}}}preloadParams") or "",
    )


def _node_from(el: Any, parent: xpath.Node | None) -> xpath.Node:
    node = xpath.Node(_local(el.tag), (el.text or "").strip() if len(el) == 0 else "", parent)
    for key, value in el.attrib.items():
        node.attrs[_local(key)] = value
    for child in el:
        if isinstance(child.tag, str):
            _node_from(child, node)
    return node


def _csv_instance(data: bytes, name: str) -> xpath.Node:
    """A CSV shipped with the form as ODK reads it: ``/root/item`` per row, one child per
    column (the header names the children)."""
    text = data.decode("utf-8-sig", errors="replace")
    rows = csv.reader(io.StringIO(text))
    doc = xpath.Node("")
    root = xpath.Node("root", "", doc)
    header = next(rows, None)
    if not header:
        return doc
    cols = [h.strip() for h in header]
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue
        item = xpath.Node("item", "", root)
        for col, cell in zip(cols, row, strict=False):
            if col:
                xpath.Node(col, cell.strip(), item)
    return doc


def _geo_string(geometry: Any) -> str:
    """A GeoJSON geometry as ODK writes geo answers: ``lat lon 0 0``, points joined by ``;``."""
    if not isinstance(geometry, dict):
        return ""
    coords = geometry.get("coordinates")
    kind = geometry.get("type")
    points: Any
    if kind == "Point":
        points = [coords]
    elif kind == "LineString":
        points = coords
    elif kind == "Polygon" and coords:
        points = coords[0]
    else:
        return ""
    out = []
    for p in points or []:
        if isinstance(p, list) and len(p) >= 2:
            out.append(f"{p[1]} {p[0]} 0 0")
    return "; ".join(out)


def _geojson_instance(data: bytes, name: str) -> xpath.Node:
    """A GeoJSON FeatureCollection as ODK reads it: an item per feature, its ``geometry`` as
    an ODK geo string, each property a child, the feature's ``id`` too."""
    import json

    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        raise XFormError(f"{name} is not GeoJSON") from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise XFormError(f"{name} is not a GeoJSON FeatureCollection")
    top = xpath.Node("")
    root = xpath.Node("root", "", top)
    for feature in features:
        if not isinstance(feature, dict):
            continue
        item = xpath.Node("item", "", root)
        xpath.Node("geometry", _geo_string(feature.get("geometry")), item)
        props = feature.get("properties")
        props = props if isinstance(props, dict) else {}
        if "id" in feature and "id" not in props:
            xpath.Node("id", str(feature["id"]), item)
        for key, value in props.items():
            if isinstance(key, str) and re.fullmatch(r"[A-Za-z_][\w.-]*", key):
                xpath.Node(key, "" if value is None else str(value), item)
    return top


def _xml_instance(data: bytes) -> xpath.Node:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    root = etree.fromstring(data, parser)
    doc = xpath.Node("")
    _node_from(root, doc)
    return doc


def _secondary(el: Any, attachments: dict[str, bytes]) -> xpath.Node:
    src = el.get("src") or ""
    if src.startswith("jr://instance/last-saved"):
        return xpath.Node("")  # filled per session with the last response (FormSession)
    if not src:
        doc = xpath.Node("")
        for child in el:
            if isinstance(child.tag, str):
                _node_from(child, doc)
                break
        return doc
    filename = src.rsplit("/", 1)[-1]
    data = attachments.get(filename)
    if data is None:
        raise XFormError(f"missing file {filename}")
    if filename.lower().endswith(".csv"):
        return _csv_instance(data, filename)
    if filename.lower().endswith(".xml"):
        return _xml_instance(data)
    if filename.lower().endswith(".geojson"):
        return _geojson_instance(data, filename)
    raise XFormError(f"unsupported file {filename}")


def _body(el: Any, parent_ref: str | None, controls: dict[str, Control]) -> tuple[Any, ...]:
    out: list[Any] = []
    for child in el:
        if not isinstance(child.tag, str):
            continue
        tag = _local(child.tag)
        if tag == "group":
            ref = child.get("ref") or child.get("nodeset")
            inner = _body(child, ref, controls)
            # pyxform wraps each repeat in a group of the same ref that carries its label
            if (
                len(inner) == 1
                and isinstance(inner[0], Group)
                and inner[0].repeat
                and (ref is None or _generic(ref) == inner[0].ref)
            ):
                r = inner[0]
                out.append(
                    Group(
                        r.ref,
                        r.label if not r.label.empty else _label(_find(child, "label")),
                        r.appearance or child.get("appearance") or "",
                        r.children,
                        True,
                        r.count,
                        r.fixed,
                    )
                )
                continue
            out.append(
                Group(
                    _generic(ref) if ref else None,
                    _label(_find(child, "label")),
                    child.get("appearance") or "",
                    inner,
                )
            )
        elif tag == "repeat":
            ref = _generic(child.get("nodeset") or child.get("ref") or "")
            out.append(
                Group(
                    ref,
                    _label(_find(child, "label")),
                    child.get("appearance") or "",
                    _body(child, ref, controls),
                    True,
                    (child.get(f"{{{JR}}}count") or "").strip(),
                    (child.get(f"{{{JR}}}noAddRemove") or "").strip() in ("true()", "true"),
                )
            )
        elif tag in CONTROLS:
            ref = _generic(child.get("ref") or child.get("bind") or "")
            items = []
            itemset = None
            on_change = []
            for sub in child:
                if not isinstance(sub.tag, str):
                    continue
                stag = _local(sub.tag)
                if stag == "item":
                    value = _find(sub, "value")
                    items.append(
                        Item(
                            (value.text or "").strip() if value is not None else "",
                            _label(_find(sub, "label")),
                        )
                    )
                elif stag == "setvalue" and "xforms-value-changed" in (sub.get("event") or ""):
                    on_change.append(
                        (_generic(sub.get("ref") or ""), (sub.get("value") or "").strip())
                    )
                elif stag == "itemset":
                    value = _find(sub, "value")
                    itemset = Itemset(
                        sub.get("nodeset") or "",
                        (value.get("ref") if value is not None else None) or "name",
                        _label(_find(sub, "label")),
                    )
            rng = None
            if tag == "range":
                try:
                    rng = (
                        float(child.get("start") or 0),
                        float(child.get("end") or 10),
                        float(child.get("step") or 1),
                    )
                except ValueError:
                    rng = (0.0, 10.0, 1.0)
            control = Control(
                tag,
                ref,
                _label(_find(child, "label")),
                _label(_find(child, "hint")),
                child.get("appearance") or "",
                tuple(items),
                itemset,
                child.get("mediatype") or "",
                rng,
                child.sourceline or 0,
                tuple(on_change),
            )
            controls[ref] = control
            out.append(control)
    return tuple(out)


def parse_xform(xml: str | bytes, attachments: dict[str, bytes] | None = None) -> FormDef:
    """Read an XForm; :class:`XFormError` when it is not one we can fill."""
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
    )
    try:
        html = etree.fromstring(xml.encode() if isinstance(xml, str) else xml, parser)
    except etree.XMLSyntaxError as exc:
        raise XFormError(f"not XML: {exc}") from None
    head = _find(html, "head")
    model = _find(head, "model") if head is not None else None
    body = _find(html, "body")
    if model is None or body is None:
        raise XFormError("no model or body")
    title_el = _find(head, "title")
    title = (title_el.text or "").strip() if title_el is not None else ""

    instances = [c for c in model if _local(c.tag) == "instance"]
    if not instances:
        raise XFormError("no instance")
    primary = next((i for i in instances if not i.get("id")), instances[0])
    root = next((c for c in primary if isinstance(c.tag, str)), None)
    if root is None:
        raise XFormError("empty instance")
    secondary = {
        i.get("id"): _secondary(i, attachments or {})
        for i in instances
        if i is not primary and i.get("id")
    }

    itext: dict[str, dict[str, Text]] = {}
    languages: list[str] = []
    default_language = None
    it = _find(model, "itext")
    if it is not None:
        for tr in it:
            if _local(tr.tag) != "translation":
                continue
            lang = tr.get("lang") or ""
            languages.append(lang)
            if (tr.get("default") or "").strip() in ("true()", "true"):
                default_language = lang
            texts = itext.setdefault(lang, {})
            for text in tr:
                tid = text.get("id")
                if not tid:
                    continue
                plain = None
                for value in text:
                    if _local(value.tag) != "value":
                        continue
                    form = value.get("form")
                    if form in (None, "", "long") and plain is None:
                        plain = _text_parts(value)
                if plain is not None:
                    texts[tid] = plain
    if default_language is None and languages:
        default_language = languages[0]

    binds = {}
    for b in model:
        if _local(b.tag) == "bind":
            bind = _bind(b)
            if bind.path:
                binds[bind.path] = bind
    controls: dict[str, Control] = {}
    tree = _body(body, None, controls)
    first_load: list[tuple[str, str]] = []
    new_repeat: list[tuple[str, str]] = []
    for el in [*model.iter(f"{{{XF}}}setvalue"), *body.iter(f"{{{XF}}}setvalue")]:
        events = (el.get("event") or "").split()
        target = (_generic(el.get("ref") or ""), (el.get("value") or "").strip())
        if "odk-instance-first-load" in events and target not in first_load:
            first_load.append(target)
        if "odk-new-repeat" in events and target not in new_repeat:
            new_repeat.append(target)
    repeats = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.get(f"{{{JR}}}template") is not None:
            repeats[_generic(_path_of(el))] = el
    for g in _walk_groups(tree):
        if g.repeat and g.ref and g.ref not in repeats:
            # a repeat with no jr:template: its first instance is its template
            found = root.getroottree().getroot()
            el = _element_at(found, g.ref)
            if el is not None:
                repeats[g.ref] = el
    return FormDef(
        name=root.get("id") or _local(root.tag),
        title=title,
        version=root.get("version") or "",
        template=root,
        binds=binds,
        body=tree,
        itext=itext,
        languages=tuple(languages),
        default_language=default_language,
        secondary=secondary,
        repeats=repeats,
        controls=controls,
        first_load=tuple(first_load),
        new_repeat=tuple(new_repeat),
        last_saved=next(
            (
                i.get("id")
                for i in instances
                if (i.get("src") or "").startswith("jr://instance/last-saved")
            ),
            None,
        ),
    )


def _path_of(el: Any) -> str:
    names = []
    while el is not None and isinstance(el.tag, str) and _local(el.tag) != "instance":
        names.append(_local(el.tag))
        el = el.getparent()
    return "/" + "/".join(reversed(names))


def _element_at(root: Any, path: str) -> Any:
    steps = [s for s in path.split("/") if s]
    if not steps or steps[0] != _local(root.tag):
        return None
    el = root
    for step in steps[1:]:
        el = next((c for c in el if isinstance(c.tag, str) and _local(c.tag) == step), None)
        if el is None:
            return None
    return el


def _walk_groups(items: tuple[Any, ...]):
    for item in items:
        if isinstance(item, Group):
            yield item
            yield from _walk_groups(item.children)
