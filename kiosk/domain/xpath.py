"""XPath 1.0 with ODK's (JavaRosa's) functions, for the binds of XLSForm questionnaires.

Expressions are tokenised, parsed into a tree of small classes and evaluated over a tree of
:class:`Node` (a form instance). Nothing is ``eval``-ed. The XPath 1.0 core follows the W3C
recommendation and is checked against libxml2 (tests/test_xpath_differential.py); ODK's
functions follow https://docs.getodk.org/form-operators-functions/ and JavaRosa's code where
the documentation is vague (tests/test_xpath_odk.py).

Values are ``str``, ``float``, ``bool``, ``list[Node]`` (a node-set, in document order, without
duplicates) and :class:`DateValue`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import random
import re
import string
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeAlias

MAX_LENGTH = 4000
# Parentheses, predicates and function calls nested deeper than this are refused: each level
# costs a few Python frames when parsing and evaluating, and 100 stays far from the limit.
MAX_NESTING = 100


class XPathError(ValueError):
    """An expression we cannot parse or evaluate; ``position`` is the 0-based character offset."""

    def __init__(self, detail: str, position: int = 0) -> None:
        super().__init__(f"{detail} (at character {position + 1})")
        self.detail = detail
        self.position = position


# ---------------------------------------------------------------------------------------------
# The node model


class Node:
    """An element of a form instance, or (name ``""``) the document node above the root element."""

    __slots__ = ("name", "value", "children", "parent", "attrs", "datatype", "__weakref__")

    def __init__(
        self,
        name: str,
        value: str = "",
        parent: Node | None = None,
        attrs: dict[str, str] | None = None,
        datatype: str | None = None,
    ) -> None:
        self.name = name
        self.value = value
        self.children: list[Node] = []
        self.parent: Node | None = None
        self.attrs: dict[str, str] = dict(attrs) if attrs else {}
        self.datatype = datatype
        if parent is not None:
            parent.append(self)

    def __repr__(self) -> str:
        return f"<Node {self.path()}>"

    def append(self, child: Node) -> Node:
        child.parent = self
        self.children.append(child)
        return child

    def insert(self, index: int, child: Node) -> Node:
        child.parent = self
        self.children.insert(index, child)
        return child

    def remove(self, child: Node) -> None:
        self.children.remove(child)
        child.parent = None

    def string_value(self) -> str:
        if not self.children:
            return self.value
        parts: list[str] = []
        _collect_text(self, parts)
        return "".join(parts)

    def document(self) -> Node:
        node = self
        while node.parent is not None:
            node = node.parent
        return node

    def path(self) -> str:
        steps: list[str] = []
        node = self
        while node.parent is not None:
            parent = node.parent
            same = [c for c in parent.children if c.name == node.name]
            if len(same) > 1:
                steps.append(f"{node.name}[{_index_of(same, node) + 1}]")
            else:
                steps.append(node.name)
            node = parent
        if node.name:
            steps.append(node.name)  # a tree without a document node above its root
        return "/" + "/".join(reversed(steps))


def _collect_text(node: Node, parts: list[str]) -> None:
    if node.value:
        parts.append(node.value)
    for child in node.children:
        _collect_text(child, parts)


def _index_of(nodes: list[Node], node: Node) -> int:
    # by identity: Node has no __eq__, but say so rather than rely on it
    for i, n in enumerate(nodes):
        if n is node:
            return i
    raise ValueError("node is not among its parent's children")


class AttributeNode(Node):
    """An attribute, as a node of a node-set (``@name``); its parent is the element."""

    __slots__ = ()

    def path(self) -> str:
        assert self.parent is not None
        return f"{self.parent.path()}/@{self.name}"


class TextNode(Node):
    """The text of an element (its ``value``), as a node of a node-set (``text()``)."""

    __slots__ = ()

    def path(self) -> str:
        assert self.parent is not None
        return f"{self.parent.path()}/text()"


# The same attribute or text node object each time it is reached, so node-sets can be
# deduplicated by identity; the values are refreshed on every visit.
_attribute_nodes: weakref.WeakKeyDictionary[Node, dict[str, AttributeNode]] = (
    weakref.WeakKeyDictionary()
)
_text_nodes: weakref.WeakKeyDictionary[Node, TextNode] = weakref.WeakKeyDictionary()


def _attributes(node: Node) -> list[Node]:
    if not node.attrs or type(node) is not Node:
        return []
    cache = _attribute_nodes.get(node)
    if cache is None:
        cache = _attribute_nodes[node] = {}
    out: list[Node] = []
    for name, value in node.attrs.items():
        attr = cache.get(name)
        if attr is None:
            attr = cache[name] = AttributeNode(name)
            attr.parent = node
        attr.value = value
        out.append(attr)
    return out


def _text_of(node: Node) -> TextNode | None:
    if not node.value or type(node) is not Node:
        return None
    text = _text_nodes.get(node)
    if text is None:
        text = _text_nodes[node] = TextNode("")
        text.parent = node
    text.value = node.value
    return text


def _order_key(node: Node) -> tuple[float, ...]:
    """Document order: the child indices from the root; attributes, then text, before children."""
    key: list[float] = []
    if isinstance(node, AttributeNode):
        assert node.parent is not None
        key.append(list(node.parent.attrs).index(node.name) - 1e6)
        node = node.parent
    elif isinstance(node, TextNode):
        assert node.parent is not None
        key.append(-1.0)
        node = node.parent
    while node.parent is not None:
        key.append(_index_of(node.parent.children, node))
        node = node.parent
    key.reverse()
    return tuple(key)


def _document_order(nodes: list[Node]) -> list[Node]:
    if len(nodes) < 2:
        return nodes
    unique = list({id(n): n for n in nodes}.values())
    unique.sort(key=_order_key)
    return unique


# ---------------------------------------------------------------------------------------------
# Values and conversions


@dataclass(frozen=True)
class DateValue:
    """A date or a date and time, as today(), now(), date() and friends return them."""

    value: date | datetime

    def days(self) -> float:
        """Days since 1970-01-01; a date-time counts its wall-clock time as a fraction of a day."""
        v = self.value
        if isinstance(v, datetime):
            midnight = datetime(v.year, v.month, v.day)
            fraction = (v.replace(tzinfo=None) - midnight) / timedelta(days=1)
            return float((v.date() - _EPOCH).days) + fraction
        return float((v - _EPOCH).days)

    def __str__(self) -> str:
        v = self.value
        if isinstance(v, datetime):
            return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}" + _offset(v)
        return v.isoformat()


_EPOCH = date(1970, 1, 1)

Value: TypeAlias = str | float | bool | list[Node] | DateValue


def _offset(v: datetime) -> str:
    """The UTC offset as JavaRosa writes it: ``Z``, ``+08`` or ``+05:30``."""
    delta = v.utcoffset()
    if delta is None:
        return ""
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    if hours == 0 and rest == 0:
        return "Z"
    return f"{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")


_NUMBER = re.compile(r"[ \t\r\n]*(-?(?:\d+(?:\.\d*)?|\.\d+))[ \t\r\n]*\Z")
_ISO_DATE = re.compile(
    r"[ \t\r\n]*(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?[ \t\r\n]*\Z"
)


def parse_date(text: str) -> DateValue | None:
    """``YYYY-MM-DD`` or an ISO 8601 date-time (``T``, optional seconds, ms, offset), else None."""
    m = _ISO_DATE.match(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        if hour is None:
            return DateValue(date(int(year), int(month), int(day)))
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        tz = _parse_zone(zone) if zone else None
        return DateValue(
            datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tz
            )
        )
    except ValueError:
        return None


def _parse_zone(zone: str) -> timezone:
    if zone == "Z":
        return UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    return timezone(sign * timedelta(minutes=minutes))


def string_to_number(text: str) -> float:
    # a plain string that looks like a date is not a number either: JavaRosa's toNumeric gives
    # NaN too, so '2026-12-03' < today() is false; only date values and date-typed nodes count
    m = _NUMBER.match(text)
    return float(m.group(1)) if m is not None else math.nan


_DATE_TYPES = frozenset({"date", "dateTime"})


def node_value(node: Node) -> str | DateValue:
    """A node's value as JavaRosa unpacks it: a date-typed answer is a date, else its text."""
    if node.datatype in _DATE_TYPES and node.value:
        parsed = parse_date(node.value)
        if parsed is not None:
            return parsed
    return node.string_value()


def node_number(node: Node) -> float:
    value = node_value(node)
    return value.days() if isinstance(value, DateValue) else string_to_number(value)


def to_number(v: Any) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, float):
        return v
    if isinstance(v, str):
        return string_to_number(v)
    if isinstance(v, list):
        return node_number(v[0]) if v else math.nan
    if isinstance(v, DateValue):
        return v.days()
    if isinstance(v, int):
        return float(v)
    raise XPathError(f"cannot convert {type(v).__name__} to a number")


def format_number(x: float) -> str:
    """XPath 1.0's number-to-string: no exponent, integers without ``.0``, NaN and Infinity."""
    if x != x:
        return "NaN"
    if x in (math.inf, -math.inf):
        return "Infinity" if x > 0 else "-Infinity"
    if x == int(x):
        return str(int(x))  # also makes -0 into "0"
    return format(Decimal(repr(x)), "f")


def to_string(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return format_number(v)
    if isinstance(v, list):
        return v[0].string_value() if v else ""
    if isinstance(v, DateValue):
        return str(v)
    if isinstance(v, int):
        return format_number(float(v))
    raise XPathError(f"cannot convert {type(v).__name__} to a string")


def to_boolean(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return v != 0 and v == v
    if isinstance(v, str | list):
        return len(v) > 0
    if isinstance(v, DateValue):
        return True
    if isinstance(v, int):
        return v != 0
    raise XPathError(f"cannot convert {type(v).__name__} to a boolean")


# ---------------------------------------------------------------------------------------------
# The environment


def _local_now() -> datetime:
    return datetime.now().astimezone()


@dataclass
class Env:
    """What an expression may read beyond its own instance."""

    instances: dict[str, Node] = field(default_factory=dict)
    today: Callable[[], date] = date.today
    now: Callable[[], datetime] = _local_now
    choice_label: Callable[[str, str], str] | None = None
    name_lookup: Callable[[str], list[Node]] | None = None
    pulldata: Callable[[str, str, str, str], str] | None = None


_DEFAULT_ENV = Env()


class _Context:
    """One evaluation: the environment and the node current() names."""

    __slots__ = ("env", "current")

    def __init__(self, env: Env, current: Node) -> None:
        self.env = env
        self.current = current


# ---------------------------------------------------------------------------------------------
# The expression tree


class _Expr:
    __slots__ = ()

    def ev(self, cx: _Context, node: Node, pos: int, size: int) -> Any:
        raise NotImplementedError

    def is_number_literal(self) -> bool:
        return False


class _Literal(_Expr):
    __slots__ = ("value",)

    def __init__(self, value: str | float) -> None:
        self.value = value

    def ev(self, cx: _Context, node: Node, pos: int, size: int) -> Any:
        return self.value

    def is_number_literal(self) -> bool:
        return isinstance(self.value, float)


class _Or(_Expr):
    __slots__ = ("operands",)

    def __init__(self, operands: list[_Expr]) -> None:
        self.operands = operands

    def ev(self, cx: _Context, node: Node, pos: int, size: int) -> Any:
        return any(to_boolean(e.ev(cx, node, pos, size)) for e in self.operands)


class _And(_Expr):
    __slots__ = ("operands",)

    def __init__(self, operands: list[_Expr]) -> None:
        self.operands = operands

    def ev(self, cx: _Context, node: Node, pos: int, size: int) -> Any:
        return all(to_boolean(e.ev(cx, node, pos, size)) for e in self.operands)


class _Chain(_Expr):
    """A left-associative run of operators of one precedence level: ``a - b + c``."""

    __slots__ = ("first", "rest", "apply")

    def __init__(
        self, first: _Expr, rest: list[tuple[str, _Expr]], apply: Callable[[str, Any, Any], Any]
    ) -> None:
        self.first = first
        self.rest = rest
        self.apply = apply

    def ev(self, cx: _Context, node: Node, pos: int, size: int) -> Any:
        value = self.first.ev(cx, node, pos, size)
        for op, operand in self.rest:
            value = self.apply(op, value, operand.ev(cx, node, pos, size))
        return value


class _Negate(_Expr):
    __slots__ = ("operand", "odd")

    def __init__(self, operand: _Expr, odd: bool) -> None:
        self.operand = operand
        self.odd = odd

    def ev(self, cx: _Context, node: Node, pos: int, size: int) -> Any:
        number = to_number(self.operand.ev(cx, node, pos, size))
        return -number if self.odd else number


class _Union(_Expr):
    __slots__ = ("operands", "position")

    def __init__(self, operands: list[_Expr], position: int) -> None:
        self.operands = operands
        self.position = position

    def ev(self, cx: _Context, node: Node, pos: int, size: int) -> Any:
        nodes: list[Node] = []
        for operand in self.operands:
            value = operand.ev(cx, node, pos, size)
            if not isinstance(value, list):
                raise XPathError("'|' joins node-sets only", self.position)
            nodes.extend(value)
        return _document_order(nodes)


class _Legacy(_Expr):
    """``${name}``: another question, found through Env.name_lookup (forms before pyxform)."""

    __slots__ = ("name", "position")

    def __init__(self, name: str, position: int) -> None:
        self.name = name
        self.position = position

    def ev(self, cx: _Context, node: Node, pos: int, size: int) -> Any:
        if cx.env.name_lookup is None:
            raise XPathError(f"${{{self.name}}} cannot be resolved here", self.position)
        return _document_order(list(cx.env.name_lookup(self.name)))


# ----- comparisons and arithmetic


def _compare_atoms(op: str, a: Any, b: Any) -> bool:
    if op in ("=", "!="):
        if isinstance(a, bool) or isinstance(b, bool):
            eq = to_boolean(a) == to_boolean(b)
        elif (
            isinstance(a, float)
            or isinstance(b, float)
            or (isinstance(a, DateValue) and isinstance(b, DateValue))
        ):
            # as JavaRosa's XPathEqExpr: a date and a number compare as days since 1970, a
            # date and a string as text (so today() = '2026-12-04' holds)
            eq = to_number(a) == to_number(b)
        else:
            eq = to_string(a) == to_string(b)
        return eq if op == "=" else not eq
    x, y = to_number(a), to_number(b)
    if op == "<":
        return x < y
    if op == "<=":
        return x <= y
    if op == ">":
        return x > y
    return x >= y


_SWAPPED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def compare(op: str, a: Any, b: Any) -> bool:
    """XPath 1.0 section 3.4: comparisons with node-sets are existential."""
    a_set, b_set = isinstance(a, list), isinstance(b, list)
    if not a_set and not b_set:
        return _compare_atoms(op, a, b)
    if a_set and b_set:
        if not a or not b:
            return False
        if op in ("=", "!="):
            right = {n.string_value() for n in b}
            if op == "=":
                return any(n.string_value() in right for n in a)
            return any(n.string_value() != r for n in a for r in right)
        xs = [node_number(n) for n in a]
        ys = [node_number(n) for n in b]
        return any(_compare_atoms(op, x, y) for x in xs for y in ys)
    if b_set:
        a, b, op = b, a, _SWAPPED[op]
    if isinstance(b, bool):
        return _compare_atoms(op, to_boolean(a), b)
    if isinstance(b, float):
        return any(_compare_atoms(op, node_number(n), b) for n in a)
    return any(_compare_atoms(op, node_value(n), b) for n in a)


def _divide(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _modulo(a: float, b: float) -> float:
    try:
        return math.fmod(a, b)
    except ValueError:  # x mod 0, Infinity mod y
        return math.nan


def arithmetic(op: str, a: Any, b: Any) -> float:
    x, y = to_number(a), to_number(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "div":
        return _divide(x, y)
    return _modulo(x, y)


# ----- location paths

_AXES = {
    "child",
    "descendant",
    "parent",
    "ancestor",
    "following-sibling",
    "preceding-sibling",
    "following",
    "preceding",
    "attribute",
    "self",
    "descendant-or-self",
    "ancestor-or-self",
}
_REVERSE_AXES = {"parent", "ancestor", "ancestor-or-self", "preceding", "preceding-sibling"}


def _descendants(node: Node, out: list[Node], with_text: bool) -> None:
    """Every node below ``node`` in document order; a leaf's text comes right after it."""
    for child in node.children:
        out.append(child)
        if child.children:
            _descendants(child, out, with_text)
        elif with_text:
            text = _text_of(child)
            if text is not None:
                out.append(text)


def _axis_nodes(axis: str, node: Node, with_text: bool) -> list[Node]:
    """The nodes of an axis in axis order (reverse axes nearest first)."""
    is_element = type(node) is Node
    if axis == "child":
        if not is_element:
            return []
        if with_text and not node.children:
            text = _text_of(node)
            return [text] if text is not None else []
        return list(node.children)
    if axis == "attribute":
        return _attributes(node)
    if axis == "self":
        return [node]
    if axis == "parent":
        return [node.parent] if node.parent is not None else []
    if axis in ("descendant", "descendant-or-self"):
        out: list[Node] = [node] if axis == "descendant-or-self" else []
        if is_element:
            if with_text and not node.children:
                text = _text_of(node)
                if text is not None:
                    out.append(text)
            _descendants(node, out, with_text)
        return out
    if axis in ("ancestor", "ancestor-or-self"):
        out = [node] if axis == "ancestor-or-self" else []
        parent = node.parent
        while parent is not None:
            out.append(parent)
            parent = parent.parent
        return out
    if axis in ("following-sibling", "preceding-sibling"):
        if not is_element or node.parent is None:
            return []
        siblings = node.parent.children
        i = _index_of(siblings, node)
        if axis == "following-sibling":
            return siblings[i + 1 :]
        return siblings[:i][::-1]
    # following and preceding: rare in forms, so simply a walk over the whole document
    everything: list[Node] = []
    _descendants(node.document(), everything, with_text)
    key = _order_key(node)
    if axis == "following":
        # after the node and not inside it (attributes and text have nothing inside)
        inside = len(key) if is_element else len(key) + 1
        return [n for n in everything if (k := _order_key(n)) > key and k[:inside] != key]
    before = [n for n in everything if (k := _order_key(n)) < key and k != key[: len(k)]]
    before.reverse()
    return before


class _Step:
    __slots__ = ("axis", "test", "name", "predicates")

    def __init__(self, axis: str, test: str, name: str, predicates: list[_Expr]) -> None:
        self.axis = axis  # one of _AXES
        self.test = test  # "name", "any" (*), "prefix" (p:*), "node", "text", "none"
        self.name = name
        self.predicates = predicates

    def matches(self, node: Node) -> bool:
        test = self.test
        if test == "node":
            return True
        if test == "text":
            return isinstance(node, TextNode)
        if test == "none":
            return False
        # the principal node type: attributes on the attribute axis, elements elsewhere
        if self.axis == "attribute":
            if not isinstance(node, AttributeNode):
                return False
        elif type(node) is not Node or not node.name:
            return False  # a document node, an attribute or a text
        if test == "any":
            return True
        if test == "prefix":
            return node.name.startswith(self.name)
        return node.name == self.name

    def select(self, cx: _Context, node: Node) -> list[Node]:
        """This step's nodes from one context node, in axis order, predicates applied."""
        if self.axis == "child" and self.test == "name":
            if type(node) is not Node:
                return []
            name = self.name
            found = [c for c in node.children if c.name == name]
        else:
            with_text = self.test in ("node", "text")
            found = [n for n in _axis_nodes(self.axis, node, with_text) if self.matches(n)]
        for predicate in self.predicates:
            if not found:
                break
            found = _filter(cx, predicate, found)
        return found


def _filter(cx: _Context, predicate: _Expr, nodes: list[Node]) -> list[Node]:
    if isinstance(predicate, _Literal) and isinstance(predicate.value, float):
        index = predicate.value
        if index == int(index) and 1 <= index <= len(nodes):
            return [nodes[int(index) - 1]]
        return []
    size = len(nodes)
    kept: list[Node] = []
    for i, n in enumerate(nodes, 1):
        value = predicate.ev(cx, n, i, size)
        if isinstance(value, float):
            if value == i:
                kept.append(n)
        elif to_boolean(value):
            kept.append(n)
    return kept


class _Path(_Expr):
    """A location path, or a filter expression followed by steps (``instance('x')/root/item``)."""

    __slots__ = ("start", "absolute", "steps", "position")

    def __init__(
        self, start: _Expr | None, absolute: bool, steps: list[_Step], position: int
    ) -> None:
        self.start = start
        self.absolute = absolute
        self.steps = steps
        self.position = position

    def ev(self, cx: _Context, node: Node, pos: int, size: int) -> Any:
        if self.start is not None:
            first = self.start.ev(cx, node, pos, size)
            if not isinstance(first, list):
                raise XPathError("a path can only follow a node-set", self.position)
            nodes = first
        elif self.absolute:
            # the document of the node the expression is evaluated for (current()), not of
            # the context node: inside instance('list')/root/item[state = /data/state] the
            # path /data/state still reads the form, as in XForms and JavaRosa (within one
            # document, as in plain XPath, the two are the same)
            nodes = [cx.current.document()]
        else:
            nodes = [node]
        # contexts in document order, none inside another: child and attribute steps keep them
        # so, and their results need no sorting
        disjoint = True
        for step in self.steps:
            if not nodes:
                return nodes
            if len(nodes) == 1:
                nodes = step.select(cx, nodes[0])
                if step.axis in _REVERSE_AXES:
                    nodes.reverse()
                disjoint = disjoint and step.axis in ("child", "attribute", "self")
                continue
            out: list[Node] = []
            for context in nodes:
                out.extend(step.select(cx, context))
            if disjoint and step.axis in ("child", "attribute", "self"):
                nodes = out
            else:
                nodes = _document_order(out)
                disjoint = False
        return nodes


class _Filter(_Expr):
    """``(expr)[predicate]``: positions count in document order."""

    __slots__ = ("primary", "predicates", "position")

    def __init__(self, primary: _Expr, predicates: list[_Expr], position: int) -> None:
        self.primary = primary
        self.predicates = predicates
        self.position = position

    def ev(self, cx: _Context, node: Node, pos: int, size: int) -> Any:
        nodes = self.primary.ev(cx, node, pos, size)
        if not isinstance(nodes, list):
            raise XPathError("a predicate can only filter a node-set", self.position)
        for predicate in self.predicates:
            nodes = _filter(cx, predicate, nodes)
        return nodes


# ----- functions


class _Call(_Expr):
    __slots__ = ("name", "args", "impl", "lazy", "position")

    def __init__(
        self, name: str, args: list[_Expr], impl: Callable[..., Any], lazy: bool, position: int
    ) -> None:
        self.name = name
        self.args = args
        self.impl = impl
        self.lazy = lazy
        self.position = position

    def ev(self, cx: _Context, node: Node, pos: int, size: int) -> Any:
        if self.lazy:
            return self.impl(self, cx, node, pos, size)
        values = [a.ev(cx, node, pos, size) for a in self.args]
        return self.impl(self, cx, node, pos, size, values)

    def fail(self, detail: str) -> XPathError:
        return XPathError(f"{self.name}(): {detail}", self.position)

    def nodes(self, value: Any) -> list[Node]:
        if not isinstance(value, list):
            raise self.fail("the argument must be a node-set")
        return value


# Each function: (fewest arguments, most or None, implementation, lazy). An eager
# implementation receives the evaluated arguments; a lazy one evaluates what it needs.
_FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Any], bool]] = {}


def _function(
    name: str, least: int, most: int | None, *, lazy: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        _FUNCTIONS[name] = (least, most, impl, lazy)
        return impl

    return register


def _simple(name: str, least: int, most: int | None, fn: Callable[..., Any]) -> None:
    """A function of its argument values only."""
    _FUNCTIONS[name] = (least, most, lambda c, cx, node, pos, size, v: fn(*v), False)


def _number_function(name: str, fn: Callable[[float], float]) -> None:
    def apply(x: Any) -> float:
        try:
            return float(fn(to_number(x)))
        except OverflowError:  # exp(1000), exp10(400): Java's Math gives Infinity
            return math.inf
        except ValueError:  # outside the domain: sqrt(-1), asin(2)
            return math.nan

    _simple(name, 1, 1, apply)


# --- XPath 1.0 core (section 4)


@_function("last", 0, 0)
def _last(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> float:
    return float(size)


@_function("position", 0, 1)
def _position(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> float:
    if not v:
        return float(pos)
    # ODK: position(..) is the node's 1-based index among its same-name siblings (a repeat)
    nodes = c.nodes(v[0])
    if not nodes:
        raise c.fail("the node-set is empty")
    target = nodes[0]
    if target.parent is None:
        return 1.0
    same = [n for n in target.parent.children if n.name == target.name]
    return float(_index_of(same, target) + 1) if target in same else 1.0


@_function("count", 1, 1)
def _count(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> float:
    return float(len(c.nodes(v[0])))


def _name_of(c: _Call, node: Node, v: list[Any], local: bool) -> str:
    nodes = c.nodes(v[0]) if v else [node]
    if not nodes or isinstance(nodes[0], TextNode):
        return ""
    name = nodes[0].name
    return name.rsplit(":", 1)[-1] if local else name


@_function("local-name", 0, 1)
def _local_name(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    return _name_of(c, node, v, local=True)


@_function("name", 0, 1)
def _name(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    return _name_of(c, node, v, local=False)


@_function("namespace-uri", 0, 1)
def _namespace_uri(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    if v:
        c.nodes(v[0])
    return ""


@_function("string", 0, 1)
def _string(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    return to_string(v[0]) if v else node.string_value()


@_function("string-length", 0, 1)
def _string_length(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> float:
    return float(len(to_string(v[0]) if v else node.string_value()))


_XML_SPACE = str.maketrans("\t\r\n", "   ")


@_function("normalize-space", 0, 1)
def _normalize_space(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    text = to_string(v[0]) if v else node.string_value()
    return " ".join(part for part in text.translate(_XML_SPACE).split(" ") if part)


@_function("concat", 0, None)
def _concat(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    # ODK: a node-set argument contributes all its nodes (XPath 1.0: only the first)
    parts: list[str] = []
    for value in v:
        if isinstance(value, list):
            parts.extend(n.string_value() for n in value)
        else:
            parts.append(to_string(value))
    return "".join(parts)


def _substring_before(s: Any, t: Any) -> str:
    text, sub = to_string(s), to_string(t)
    i = text.find(sub)
    return text[:i] if i > 0 else ""


def _substring_after(s: Any, t: Any) -> str:
    text, sub = to_string(s), to_string(t)
    i = text.find(sub)
    return text[i + len(sub) :] if i >= 0 else ""


def xpath_round(x: float) -> float:
    """XPath's round(): halves go toward +Infinity; -0.5 <= x < 0 gives -0."""
    if x != x or x in (math.inf, -math.inf):
        return x
    whole = float(math.floor(x))
    if x - whole >= 0.5:
        whole += 1.0
    if whole == 0 and (x < 0 or math.copysign(1.0, x) < 0):
        return -0.0
    return whole


def _substring(s: Any, start: Any, length: Any = None) -> str:
    text = to_string(s)
    first = xpath_round(to_number(start))
    end = math.inf if length is None else first + xpath_round(to_number(length))
    # characters at 1-based p with first <= p < end; NaN compares false and yields ""
    if not (first == first and end == end):
        return ""
    lo = max(first, 1.0)
    hi = min(end, float(len(text) + 1))
    if hi <= lo:
        return ""
    return text[int(lo) - 1 : int(hi) - 1]


def _translate(s: Any, source: Any, target: Any) -> str:
    text, frm, to = to_string(s), to_string(source), to_string(target)
    table: dict[int, int | None] = {}
    for i, ch in enumerate(frm):
        if ord(ch) not in table:
            table[ord(ch)] = ord(to[i]) if i < len(to) else None
    return text.translate(table)


_simple("starts-with", 2, 2, lambda a, b: to_string(a).startswith(to_string(b)))
_simple("ends-with", 2, 2, lambda a, b: to_string(a).endswith(to_string(b)))
_simple("contains", 2, 2, lambda a, b: to_string(b) in to_string(a))
_simple("substring-before", 2, 2, _substring_before)
_simple("substring-after", 2, 2, _substring_after)
_simple("substring", 2, 3, _substring)
_simple("translate", 3, 3, _translate)
_simple("boolean", 1, 1, to_boolean)
_simple("not", 1, 1, lambda a: not to_boolean(a))
_simple("true", 0, 0, lambda: True)
_simple("false", 0, 0, lambda: False)
_simple("lang", 1, 1, lambda a: False)


@_function("number", 0, 1)
def _number(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> float:
    return to_number(v[0]) if v else string_to_number(node.string_value())


@_function("sum", 1, 1)
def _sum(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> float:
    # added in document order, one by one, as libxml2 and JavaRosa do
    return sum((node_number(n) for n in c.nodes(v[0])), 0.0)


def _floor(x: float) -> float:
    if x != x or x in (math.inf, -math.inf) or x == 0:
        return x
    return float(math.floor(x))


def _ceiling(x: float) -> float:
    if x != x or x in (math.inf, -math.inf) or x == 0:
        return x
    result = float(math.ceil(x))
    return -0.0 if result == 0 else result


_number_function("floor", _floor)
_number_function("ceiling", _ceiling)


@_function("round", 1, 2)
def _round(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> float:
    x = to_number(v[0])
    if len(v) == 1:
        return xpath_round(x)
    # ODK's round(x, digits), as JavaRosa's: the decimal text of x rounded at that place,
    # halves toward +Infinity like XPath's round(); more than 30 places either way is NaN
    digits = _int(v[1])
    if x != x or x in (math.inf, -math.inf):
        return x
    if digits != digits or abs(digits) > 30:
        return math.nan
    mode = ROUND_HALF_DOWN if x < 0 else ROUND_HALF_UP
    try:
        exponent = Decimal(1).scaleb(-int(digits))
        return float(Decimal(repr(x)).quantize(exponent, rounding=mode))
    except InvalidOperation:
        return x


# --- ODK: text, choices, logic


def _items(value: Any) -> list[str]:
    return to_string(value).split()


_simple("selected", 2, 2, lambda a, b: to_string(b).strip() in _items(a))
_simple("count-selected", 1, 1, lambda a: float(len(_items(a))))


@_function("selected-at", 2, 2)
def _selected_at(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    items = _items(v[0])
    index = to_number(v[1])
    if index != index or index in (math.inf, -math.inf):
        return ""
    i = int(index)
    return items[i] if 0 <= i < len(items) else ""


@_function("jr:choice-name", 2, 2)
def _choice_name(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    if cx.env.choice_label is None:
        raise c.fail("no choice labels are available here")
    return cx.env.choice_label(to_string(v[0]), to_string(v[1]).strip())


@functools.lru_cache(maxsize=256)
def _compile_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@_function("regex", 2, 2)
def _regex(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> bool:
    try:
        pattern = _compile_regex(to_string(v[1]))
    except re.error as exc:
        raise c.fail(f"bad regular expression: {exc}") from None
    # ODK's documentation and JavaRosa (Pattern.matches): the whole text must match
    return pattern.fullmatch(to_string(v[0])) is not None


@_function("substr", 2, 3)
def _substr(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    # JavaRosa's substr(s, start, end): 0-based, end excluded, negative counts from the end,
    # both then clamped to the string
    text = to_string(v[0])

    def bound(x: Any) -> int:
        n = _int(x)
        if n != n:
            return 0
        if n in (math.inf, -math.inf):
            return len(text) if n > 0 else 0
        i = int(n)
        if i < 0:
            i += len(text)
        return max(0, min(len(text), i))

    start = bound(v[1])
    end = bound(v[2]) if len(v) > 2 else len(text)
    return text[start:end] if start < end else ""


@_function("join", 1, None)
def _join(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    return to_string(v[0]).join(_flatten(v[1:]))


def _flatten(values: Sequence[Any]) -> list[str]:
    out: list[str] = []
    for value in values:
        if isinstance(value, list):
            out.extend(n.string_value() for n in value)
        else:
            out.append(to_string(value))
    return out


@_function("coalesce", 2, 2, lazy=True)
def _coalesce(c: _Call, cx: _Context, node: Node, pos: int, size: int) -> Any:
    # JavaRosa: the first value unless it is empty (or NaN), as it is, not as text
    first = c.args[0].ev(cx, node, pos, size)
    if _is_null(first):
        return c.args[1].ev(cx, node, pos, size)
    return first


def _is_null(value: Any) -> bool:
    if isinstance(value, float):
        return value != value
    return isinstance(value, str | list) and to_string(value) == ""


@_function("if", 3, 3, lazy=True)
def _if(c: _Call, cx: _Context, node: Node, pos: int, size: int) -> Any:
    branch = c.args[1] if to_boolean(c.args[0].ev(cx, node, pos, size)) else c.args[2]
    return branch.ev(cx, node, pos, size)


_simple("boolean-from-string", 1, 1, lambda a: to_string(a).strip().lower() in ("true", "1"))


@_function("once", 1, 1, lazy=True)
def _once(c: _Call, cx: _Context, node: Node, pos: int, size: int) -> Any:
    # the value a calculation had the first time: kept while the question has one
    if node.value:
        return node.value
    return c.args[0].ev(cx, node, pos, size)


# --- ODK: numbers


def _int(x: Any) -> float:
    n = to_number(x)
    if n != n or n in (math.inf, -math.inf):
        return n
    return float(math.trunc(n))


def _pow(a: Any, b: Any) -> float:
    base, exponent = to_number(a), to_number(b)
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return math.copysign(math.inf, base) if exponent % 2 == 1 else math.inf
    except ValueError:
        if base == 0 and exponent < 0:  # Java's Math.pow: 1 / 0
            return math.copysign(math.inf, base) if exponent % 2 == 1 else math.inf
        return math.nan


def _log(x: float) -> float:
    if x == 0:
        return -math.inf
    return math.log(x)


def _log10(x: float) -> float:
    if x == 0:
        return -math.inf
    return math.log10(x)


_simple("int", 1, 1, _int)
_simple("pow", 2, 2, _pow)
_number_function("log", _log)
_number_function("log10", _log10)
_number_function("abs", abs)
_number_function("sqrt", math.sqrt)
_number_function("exp", math.exp)
_number_function("exp10", lambda x: math.pow(10.0, x))
_number_function("sin", math.sin)
_number_function("cos", math.cos)
_number_function("tan", math.tan)
_number_function("asin", math.asin)
_number_function("acos", math.acos)
_number_function("atan", math.atan)
_simple("atan2", 2, 2, lambda y, x: math.atan2(to_number(y), to_number(x)))
_simple("pi", 0, 0, lambda: math.pi)


def _numbers(values: Sequence[Any]) -> list[float]:
    out: list[float] = []
    for value in values:
        if isinstance(value, list):
            out.extend(node_number(n) for n in value)
        else:
            out.append(to_number(value))
    return out


def _extreme(values: Sequence[Any], pick: Callable[[list[float]], float]) -> float:
    # JavaRosa skips what is not a number (unanswered questions); NaN only when nothing is
    numbers = [n for n in _numbers(values) if n == n]
    return pick(numbers) if numbers else math.nan


_simple("min", 1, None, lambda *v: _extreme(v, min))
_simple("max", 1, None, lambda *v: _extreme(v, max))


@_function("count-non-empty", 1, 1)
def _count_non_empty(
    c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]
) -> float:
    return float(sum(1 for n in c.nodes(v[0]) if n.string_value() != ""))


@_function("checklist", 2, None)
def _checklist(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> bool:
    # JavaRosa counts the responses that convert to true (any non-empty text); ODK's
    # documentation says "exactly 'yes'"; we follow JavaRosa, what Collect runs
    least, most = _int(v[0]), _int(v[1])
    count = sum(1 for value in _flatten(v[2:]) if to_boolean(value))
    return (least < 0 or count >= least) and (most < 0 or count <= most)


@_function("weighted-checklist", 2, None)
def _weighted_checklist(
    c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]
) -> bool:
    # unlike checklist, -1 means -1 here (JavaRosa)
    least, most = to_number(v[0]), to_number(v[1])
    pairs = v[2:]
    if len(pairs) % 2:
        raise c.fail("values and weights come in pairs")
    values, weights = _flatten(pairs[0::2]), _numbers(pairs[1::2])
    if len(values) != len(weights):
        raise c.fail("as many weights as values are needed")
    total = sum(w for value, w in zip(values, weights, strict=True) if to_boolean(value))
    return least <= total <= most


_simple("random", 0, 0, lambda: random.random())


@_function("uuid", 0, 1)
def _uuid(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    if not v:
        return str(uuid.uuid4())
    length = _int(v[0])
    if length != length or length < 0 or length > 10_000:
        raise c.fail("the length must be a number from 0 to 10000")
    alphabet = string.ascii_letters + string.digits
    rng = random.SystemRandom()
    return "".join(rng.choice(alphabet) for _ in range(int(length)))


_DIGESTS = {
    "md5": "md5",
    "sha-1": "sha1",
    "sha-256": "sha256",
    "sha-384": "sha384",
    "sha-512": "sha512",
}


@_function("digest", 2, 3)
def _digest(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    algorithm = _DIGESTS.get(to_string(v[1]).strip().lower())
    if algorithm is None:
        raise c.fail(f"unknown algorithm {to_string(v[1])!r}")
    encoding = to_string(v[2]).strip().lower() if len(v) > 2 else "base64"
    digest = hashlib.new(algorithm, to_string(v[0]).encode("utf-8")).digest()
    if encoding == "hex":
        return digest.hex()
    if encoding == "base64":
        return base64.b64encode(digest).decode("ascii")
    raise c.fail(f"unknown encoding {encoding!r}")


@_function("base64-decode", 1, 1)
def _base64_decode(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    try:
        decoded = base64.b64decode(to_string(v[0]), validate=True)
    except ValueError:
        raise c.fail("the text is not base64") from None
    return decoded.decode("utf-8", errors="replace")


@_function("pulldata", 4, 4)
def _pulldata(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    if cx.env.pulldata is None:
        raise c.fail("no data files are available here")
    table, column, key_column, key = (to_string(x) for x in v)
    return cx.env.pulldata(table, column, key_column, key)


# --- instances and repeats


@_function("instance", 1, 1)
def _instance(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> list[Node]:
    name = to_string(v[0])
    document = cx.env.instances.get(name)
    if document is None:
        raise c.fail(f"there is no instance {name!r}")
    return [document]


@_function("current", 0, 0)
def _current(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> list[Node]:
    return [cx.current]


def _is_inside(node: Node, ancestor: Node) -> bool:
    walker: Node | None = node
    while walker is not None:
        if walker is ancestor:
            return True
        walker = walker.parent
    return False


@_function("indexed-repeat", 3, None)
def _indexed_repeat(
    c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]
) -> list[Node]:
    # indexed-repeat(path, repeat1, index1[, repeat2, index2 ...]): path's nodes inside the
    # index1-th repeat1 (and the index2-th repeat2 inside that ...)
    if len(v) % 2 == 0:
        raise c.fail("repeats and indexes come in pairs")
    candidates = c.nodes(v[0])
    chosen: Node | None = None
    for repeat, index in zip(v[1::2], v[2::2], strict=True):
        instances = c.nodes(repeat)
        if chosen is not None:
            # a nested repeat counts within the instance chosen so far
            instances = [n for n in instances if _is_inside(n, chosen)]
        i = to_number(index)
        if i != i or i != int(i) or not 1 <= i <= len(instances):
            return []
        chosen = instances[int(i) - 1]
        candidates = [n for n in candidates if _is_inside(n, chosen)]
    return candidates[:1]


# --- dates and times


def _today(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> DateValue:
    return DateValue(cx.env.today())


def _now(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> DateValue:
    moment = cx.env.now()
    return DateValue(moment if moment.tzinfo is not None else moment.astimezone())


_FUNCTIONS["today"] = (0, 0, _today, False)
_FUNCTIONS["now"] = (0, 0, _now, False)


def _date_argument(c: _Call, value: Any, keep_time: bool) -> DateValue | None:
    """JavaRosa's toDate: a date, ISO text or days since 1970; None for "" and NaN."""
    if isinstance(value, list):
        value = node_value(value[0]) if value else ""
    if isinstance(value, DateValue):
        return value
    if isinstance(value, str):
        if value == "":
            return None
        parsed = parse_date(value)
        if parsed is None:
            raise c.fail(f"{value!r} is not a date")
        return parsed
    if isinstance(value, bool):
        raise c.fail("a boolean is not a date")
    days = to_number(value)
    if days != days:
        return None
    if days in (math.inf, -math.inf) or abs(days) > 2**31:
        raise c.fail(f"{format_number(days)} is out of range for a date")
    try:
        if keep_time:
            # JavaRosa: that many days of milliseconds since 1970-01-01T00:00Z, shown locally
            return DateValue(datetime.fromtimestamp(days * 86400, tz=UTC).astimezone())
        return DateValue(_EPOCH + timedelta(days=int(days)))
    except (OverflowError, ValueError, OSError):
        raise c.fail(f"{format_number(days)} is out of range for a date") from None


@_function("date", 1, 1)
def _date(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> Any:
    value = _date_argument(c, v[0], keep_time=False)
    if value is None:
        return v[0] if isinstance(v[0], float) else ""  # JavaRosa hands "" and NaN back
    if isinstance(value.value, datetime):
        return DateValue(value.value.date())
    return value


@_function("date-time", 1, 1)
def _date_time(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> Any:
    value = _date_argument(c, v[0], keep_time=True)
    if value is None:
        return v[0] if isinstance(v[0], float) else ""
    if not isinstance(value.value, datetime):
        d = value.value
        return DateValue(datetime(d.year, d.month, d.day).astimezone())
    return value


def _decimal_date_time(
    c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]
) -> Any:
    if isinstance(v[0], float):
        return v[0]
    value = _date_argument(c, v[0], keep_time=True)
    if value is None:
        return ""
    moment = value.value
    if isinstance(moment, datetime):
        # JavaRosa: the instant's milliseconds since 1970-01-01T00:00Z, in days (a date-time
        # without an offset is local time)
        return moment.timestamp() / 86400
    # a date counts whole days (JavaRosa takes its local midnight, off by the UTC offset)
    return value.days()


_FUNCTIONS["decimal-date"] = (1, 1, _decimal_date_time, False)
_FUNCTIONS["decimal-date-time"] = (1, 1, _decimal_date_time, False)

_TIME = re.compile(r"\s*(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?\s*\Z")


@_function("decimal-time", 1, 1)
def _decimal_time(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> float:
    # the fraction of the day on the time's own clock (JavaRosa: on the device's time zone)
    value = v[0]
    if isinstance(value, float):
        return value - math.floor(value) if math.isfinite(value) else math.nan
    if isinstance(value, DateValue) and isinstance(value.value, datetime):
        moment = value.value.time()
    else:
        text = to_string(value)
        m = _TIME.match(text)
        if m is None:
            parsed = parse_date(text)
            if parsed is None or not isinstance(parsed.value, datetime):
                return math.nan
            moment = parsed.value.time()
        else:
            hour, minute, second, fraction, _zone = m.groups()
            micro = int((fraction or "0")[:6].ljust(6, "0"))
            try:
                moment = time(int(hour), int(minute), int(second or 0), micro)
            except ValueError:
                return math.nan
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
    return seconds / 86400


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def format_date(value: DateValue, pattern: str) -> str:
    """ODK's format-date tokens: %Y %y %m %n %b %d %e %a %H %h %M %S %3, %% for a percent."""
    v = value.value
    moment = v if isinstance(v, datetime) else datetime(v.year, v.month, v.day)
    fields = {
        "Y": f"{moment.year:04d}",
        "y": f"{moment.year % 100:02d}",
        "m": f"{moment.month:02d}",
        "n": str(moment.month),
        "b": _MONTHS[moment.month - 1],
        "d": f"{moment.day:02d}",
        "e": str(moment.day),
        "a": _DAYS[moment.weekday()],
        "H": f"{moment.hour:02d}",
        "h": str(moment.hour),
        "M": f"{moment.minute:02d}",
        "S": f"{moment.second:02d}",
        "3": f"{moment.microsecond // 1000:03d}",
        "%": "%",
    }
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "%" and i + 1 < len(pattern):
            token = pattern[i + 1]
            out.append(fields.get(token, "%" + token))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _format_date(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> str:
    value = _date_argument(c, v[0], keep_time=True)
    if value is None:
        return ""  # JavaRosa: an empty date formats as ""
    return format_date(value, to_string(v[1]))


_FUNCTIONS["format-date"] = (2, 2, _format_date, False)
_FUNCTIONS["format-date-time"] = (2, 2, _format_date, False)


# --- geography: geopoints are "latitude longitude [altitude accuracy]", shapes join them by ";"

_EARTH_RADIUS = 6378100.0  # metres; the radius JavaRosa's GeoUtils uses


def _points(c: _Call, values: Sequence[Any]) -> list[tuple[float, float]]:
    texts: list[str] = []
    for value in _flatten(values):
        texts.extend(part for part in value.split(";") if part.strip())
    points: list[tuple[float, float]] = []
    for text in texts:
        parts = text.split()
        if len(parts) < 2:
            raise c.fail(f"{text!r} is not a geopoint")
        try:
            points.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise c.fail(f"{text!r} is not a geopoint") from None
    return points


def _haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS * math.asin(math.sqrt(min(1.0, h)))


@_function("distance", 1, None)
def _distance(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> float:
    points = _points(c, v)
    return sum(_haversine(points[i], points[i + 1]) for i in range(len(points) - 1))


@_function("area", 1, 1)
def _area(c: _Call, cx: _Context, node: Node, pos: int, size: int, v: list[Any]) -> float:
    # a polygon on a sphere (the method JavaRosa's GeoUtils follows)
    points = _points(c, v)
    if len(points) < 3:
        return 0.0
    total = 0.0
    for i in range(len(points)):
        lat1, lon1 = map(math.radians, points[i])
        lat2, lon2 = map(math.radians, points[(i + 1) % len(points)])
        total += (lon2 - lon1) * (2 + math.sin(lat1) + math.sin(lat2))
    return abs(total * _EARTH_RADIUS * _EARTH_RADIUS / 2.0)


# ---------------------------------------------------------------------------------------------
# Tokens and the parser

_NAME = r"[^\W\d][\w.\-]*"
_TOKEN = re.compile(
    rf"""
    (?P<ws>[ \t\r\n]+)
  | (?P<num>\d+(?:\.\d*)?|\.\d+)
  | (?P<str>"[^"]*"|'[^']*')
  | (?P<legacy>\$\{{[^}}]*\}})
  | (?P<var>\${_NAME}(?::{_NAME})?)
  | (?P<name>{_NAME}(?::(?:{_NAME}|\*))?)
  | (?P<op>//|::|\.\.|!=|<=|>=|[/.=<>|+\-*()\[\],@])
    """,
    re.VERBOSE,
)
_OPERATOR_NAMES = {"and", "or", "div", "mod"}
_NODE_TYPES = {"node", "text", "comment", "processing-instruction"}
# After these (or an operator) a '*' is a name test and a name is a name, not an operator.
_NO_OPERAND_BEFORE = {"@", "::", "(", "[", ","}
_OPERATORS = {"and", "or", "div", "mod", "*", "/", "//", "|", "+", "-", "=", "!="}
_OPERATORS |= {"<", "<=", ">", ">="}
_LEVELS: list[set[str]] = [
    {"or"},
    {"and"},
    {"=", "!="},
    {"<", "<=", ">", ">="},
    {"+", "-"},
    {"*", "div", "mod"},
]
_BINARY = set().union(*_LEVELS)


@dataclass(frozen=True)
class _Token:
    kind: str  # num str legacy var op nametest func nodetype axis, or the punctuation itself
    text: str
    position: int

    @property
    def end(self) -> int:
        return self.position + len(self.text)


_OPERATOR_PREFIX = re.compile(r"(and|or|div|mod)-")
_NEXT = re.compile(r"[ \t\r\n]*(\(|::)?")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    previous: _Token | None = None
    at = 0
    while at < len(text):
        m = _TOKEN.match(text, at)
        if m is None:
            raise XPathError(f"unexpected character {text[at]!r}", at)
        kind, lexeme, position = m.lastgroup, m.group(), at
        at = m.end()
        if kind == "ws":
            continue
        # XPath 1.0 section 3.7: after an operand, '*' multiplies and a name is an operator
        after_operand = previous is not None and not (
            previous.kind in _NO_OPERAND_BEFORE or previous.kind == "op"
        )
        if kind == "op":
            if lexeme == "*":
                token = _Token("op" if after_operand else "nametest", lexeme, position)
            elif lexeme in _OPERATORS:
                token = _Token("op", lexeme, position)
            else:
                token = _Token(lexeme, lexeme, position)
        elif kind == "name":
            following = _NEXT.match(text, at)
            assert following is not None
            if after_operand:
                if lexeme not in _OPERATOR_NAMES:
                    # 'div-1' reads as one name, but libxml2 (like a person) takes 'div -1'
                    split = _OPERATOR_PREFIX.match(lexeme)
                    if split is None:
                        raise XPathError(f"expected an operator, found {lexeme!r}", position)
                    lexeme = split.group(1)
                    at = position + len(lexeme)
                token = _Token("op", lexeme, position)
            elif following.group(1) == "(":
                token = _Token("nodetype" if lexeme in _NODE_TYPES else "func", lexeme, position)
            elif following.group(1) == "::":
                token = _Token("axis", lexeme, position)
            else:
                token = _Token("nametest", lexeme, position)
        else:
            assert kind is not None
            token = _Token(kind, lexeme, position)
        tokens.append(token)
        previous = token
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.at = 0
        self.depth = 0
        self.references: set[str] = set()

    # --- token helpers

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def peek_kind(self) -> str:
        token = self.peek()
        return token.kind if token is not None else ""

    def here(self) -> int:
        token = self.peek()
        return token.position if token is not None else len(self.text)

    def take(self, kind: str, what: str) -> _Token:
        token = self.peek()
        if token is None or token.kind != kind:
            found = repr(token.text) if token is not None else "the end"
            raise XPathError(f"expected {what}, found {found}", self.here())
        self.at += 1
        return token

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise XPathError(
                f"the expression is nested more than {MAX_NESTING} levels deep", self.here()
            )

    # --- grammar

    def parse(self) -> _Expr:
        if not self.tokens:
            raise XPathError("the expression is empty", 0)
        expr = self.expression()
        if self.peek() is not None:
            token = self.peek()
            assert token is not None
            raise XPathError(f"unexpected {token.text!r}", token.position)
        return expr

    def expression(self) -> _Expr:
        # operands and binary operators in one flat run, then grouped by precedence: keeps
        # Python's recursion to a few frames per parenthesis
        items: list[Any] = [self.unary()]
        while True:
            token = self.peek()
            if token is None or token.kind != "op" or token.text not in _BINARY:
                break
            self.at += 1
            items.append(token.text)
            items.append(self.unary())
        return _group(items, 0)

    def unary(self) -> _Expr:
        minus = 0
        while True:
            token = self.peek()
            if token is not None and token.kind == "op" and token.text == "-":
                minus += 1
                self.at += 1
            else:
                break
        position = self.here()
        operands = [self.path()]
        while True:
            token = self.peek()
            if token is None or token.kind != "op" or token.text != "|":
                break
            self.at += 1
            operands.append(self.path())
        expr: _Expr = operands[0] if len(operands) == 1 else _Union(operands, position)
        return _Negate(expr, minus % 2 == 1) if minus else expr

    def path(self) -> _Expr:
        token = self.peek()
        if token is None:
            raise XPathError("the expression ends too early", len(self.text))
        start = token.position
        kind = token.kind
        if kind in ("num", "str", "legacy", "var", "(", "func"):
            expr = self.primary()
            predicates = self.predicates()
            if predicates:
                expr = _Filter(expr, predicates, start)
            if self.peek_kind() == "op" and self.peek_text() in ("/", "//"):
                steps = self.relative_steps(after_slash=True)
                self.reference(start)
                return _Path(expr, False, steps, start)
            if kind == "legacy" or (kind == "func" and token.text in ("current", "instance")):
                self.reference(start)
            return expr
        if kind == "op" and token.text in ("/", "//"):
            if token.text == "/":
                self.at += 1
                steps = self.relative_steps() if self.step_starts() else []
            else:
                steps = self.relative_steps(after_slash=True)
            self.reference(start)
            return _Path(None, True, steps, start)
        if self.step_starts():
            steps = self.relative_steps()
            self.reference(start)
            return _Path(None, False, steps, start)
        raise XPathError(f"unexpected {token.text!r}", token.position)

    def peek_text(self) -> str:
        token = self.peek()
        return token.text if token is not None else ""

    def reference(self, start: int) -> None:
        end = self.tokens[self.at - 1].end
        self.references.add(self.text[start:end].strip())

    def step_starts(self) -> bool:
        return self.peek_kind() in (".", "..", "@", "axis", "nametest", "nodetype")

    def relative_steps(self, after_slash: bool = False) -> list[_Step]:
        """Steps joined by '/' or '//'; with after_slash the run begins with one of those."""
        steps: list[_Step] = []
        if not after_slash:
            steps.append(self.step())
        while self.peek_kind() == "op" and self.peek_text() in ("/", "//"):
            slash = self.take("op", "'/'").text
            if slash == "//":
                steps.append(_Step("descendant-or-self", "node", "", []))
            steps.append(self.step())
        return steps

    def step(self) -> _Step:
        token = self.peek()
        if token is None:
            raise XPathError("a path ends too early", len(self.text))
        if token.kind == ".":
            self.at += 1
            return _Step("self", "node", "", [])
        if token.kind == "..":
            self.at += 1
            return _Step("parent", "node", "", [])
        axis = "child"
        if token.kind == "@":
            self.at += 1
            axis = "attribute"
        elif token.kind == "axis":
            self.at += 1
            if token.text not in _AXES:
                raise XPathError(f"unknown or unsupported axis {token.text!r}", token.position)
            axis = token.text
            self.take("::", "'::'")
        token = self.peek()
        if token is not None and token.kind == "nametest":
            self.at += 1
            if token.text == "*":
                test, name = "any", ""
            elif token.text.endswith(":*"):
                test, name = "prefix", token.text[:-1]
            else:
                test, name = "name", token.text
        elif token is not None and token.kind == "nodetype":
            self.at += 1
            self.take("(", "'('")
            if token.text == "processing-instruction" and self.peek_kind() == "str":
                self.at += 1
            self.take(")", "')'")
            test = {"node": "node", "text": "text"}.get(token.text, "none")
            name = ""
        else:
            raise XPathError("expected a name or node test", self.here())
        return _Step(axis, test, name, self.predicates())

    def predicates(self) -> list[_Expr]:
        found: list[_Expr] = []
        while self.peek_kind() == "[":
            self.at += 1
            self.enter()
            found.append(self.expression())
            self.take("]", "']'")
            self.depth -= 1
        return found

    def primary(self) -> _Expr:
        token = self.peek()
        assert token is not None
        self.at += 1
        if token.kind == "num":
            return _Literal(float(token.text))
        if token.kind == "str":
            return _Literal(token.text[1:-1])
        if token.kind == "legacy":
            name = token.text[2:-1].strip()
            if not name:
                raise XPathError("${} names no question", token.position)
            return _Legacy(name, token.position)
        if token.kind == "var":
            raise XPathError(f"variables such as {token.text} are not supported", token.position)
        if token.kind == "(":
            self.enter()
            expr = self.expression()
            self.take(")", "')'")
            self.depth -= 1
            return expr
        return self.call(token)

    def call(self, name: _Token) -> _Expr:
        spec = _FUNCTIONS.get(name.text)
        if spec is None:
            raise XPathError(f"unknown function {name.text}()", name.position)
        self.take("(", "'('")
        self.enter()
        args: list[_Expr] = []
        if self.peek_kind() != ")":
            args.append(self.expression())
            while self.peek_kind() == ",":
                self.at += 1
                args.append(self.expression())
        self.take(")", "')'")
        self.depth -= 1
        least, most, impl, lazy = spec
        if len(args) < least or (most is not None and len(args) > most):
            if most is None:
                wanted = f"at least {least}"
            elif least == most:
                wanted = str(least)
            else:
                wanted = f"{least} to {most}"
            raise XPathError(
                f"{name.text}() takes {wanted} argument{'s' if wanted != '1' else ''},"
                f" not {len(args)}",
                name.position,
            )
        return _Call(name.text, args, impl, lazy, name.position)


def _group(items: list[Any], level: int) -> _Expr:
    """Operands and operators, alternating, as a tree: lowest precedence first."""
    if len(items) == 1:
        first: _Expr = items[0]
        return first
    operators = _LEVELS[level]
    parts: list[list[Any]] = [[items[0]]]
    joins: list[str] = []
    for i in range(1, len(items), 2):
        op = items[i]
        if op in operators:
            joins.append(op)
            parts.append([items[i + 1]])
        else:
            parts[-1].extend((op, items[i + 1]))
    grouped = [_group(part, level + 1) for part in parts]
    if len(grouped) == 1:
        return grouped[0]
    if level == 0:
        return _Or(grouped)
    if level == 1:
        return _And(grouped)
    rest = list(zip(joins, grouped[1:], strict=True))
    return _Chain(grouped[0], rest, compare if level in (2, 3) else arithmetic)


# ---------------------------------------------------------------------------------------------
# The public face


class Expr:
    """A parsed expression, ready to evaluate any number of times."""

    __slots__ = ("text", "_root", "_references")

    def __init__(self, text: str, root: _Expr, references: set[str]) -> None:
        self.text = text
        self._root = root
        self._references = frozenset(references)

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"

    def evaluate(self, node: Node, env: Env | None = None) -> Value:
        """The value with ``node`` as the context node (position 1 of 1) and as current()."""
        cx = _Context(env if env is not None else _DEFAULT_ENV, node)
        return self._root.ev(cx, node, 1, 1)

    def references(self) -> set[str]:
        """The location paths the expression reads, as written: for showing dependencies."""
        return set(self._references)


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Expr:
    if len(text) > MAX_LENGTH:
        raise XPathError(f"the expression is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    parser = _Parser(text)
    return Expr(text, parser.parse(), parser.references)


def truth(text: str, node: Node, env: Env | None = None) -> bool:
    """An expression's value as a boolean: relevant, constraint and required binds."""
    return to_boolean(parse(text).evaluate(node, env))


__all__ = [
    "AttributeNode",
    "DateValue",
    "Env",
    "Expr",
    "Node",
    "TextNode",
    "XPathError",
    "compare",
    "format_date",
    "format_number",
    "parse",
    "parse_date",
    "to_boolean",
    "to_number",
    "to_string",
    "truth",
]
