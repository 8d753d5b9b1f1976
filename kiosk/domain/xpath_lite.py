"""A small, safe evaluator for the XPath subset XLSForm ``relevant`` and ``constraint`` use.

Never ``eval``: expressions are tokenised and parsed into a tree of tuples, and the tree is
walked with a fixed set of operators and functions. Accepted:

* literals: numbers (``12``, ``3.5``), strings (``'no'`` or ``"no"``);
* ``${name}`` (another question's answer) and ``.`` (the question's own answer);
* ``or and = != < <= > >= + - * div mod``, unary ``-``, parentheses;
* functions: ``selected(a, 'x')``, ``count-selected(a)``, ``string-length(a)``, ``not(a)``,
  ``true()``, ``false()``, ``number(a)``, ``int(a)``, ``string(a)``, ``today()``,
  ``concat(a, ...)``, ``if(c, a, b)``, ``coalesce(a, b)``.

Values follow XPath 1.0: an unanswered question is ``''``; a multiple choice answer is its
choice names separated by spaces; comparing with a number compares numerically (``''`` is
NaN, so ``. > 3`` is false when empty); dates are ``YYYY-MM-DD`` strings and compare in
calendar order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

MAX_LENGTH = 1000
MAX_DEPTH = 40

Node = tuple  # ("num", v) | ("str", v) | ("ref", name) | ("self",) | ("op", o, a, b) | ("neg", a) | ("call", f, args)


class XPathError(ValueError):
    """An expression we cannot parse; ``position`` is the 0-based character offset."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.detail = message
        self.position = position


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:\.\d*)?|\.\d+)
      | (?P<str>'[^']*'|"[^"]*")
      | (?P<ref>\$\{\s*(?P<refname>[A-Za-z_][\w.-]*)\s*\})
      | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)
      | (?P<name>[A-Za-z_][\w-]*)
      | (?P<dot>\.)
    )""",
    re.VERBOSE,
)

# name -> (min args, max args or None)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "selected": (2, 2),
    "count-selected": (1, 1),
    "string-length": (1, 1),
    "not": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
    "number": (1, 1),
    "int": (1, 1),
    "string": (1, 1),
    "today": (0, 0),
    "concat": (1, None),
    "if": (3, 3),
    "coalesce": (2, 2),
}
_WORD_OPS = {"and", "or", "div", "mod"}


def tokenize(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise XPathError(
                f"unexpected character {text[pos : pos + 1].strip() or text[pos]!r}", pos
            )
        start = m.start(m.lastgroup) if m.lastgroup else pos
        kind = m.lastgroup
        if kind == "refname":
            kind = "ref"
        if kind == "num":
            out.append(("num", m.group("num"), start))
        elif kind == "str":
            out.append(("str", m.group("str")[1:-1], start))
        elif kind == "ref":
            out.append(("ref", m.group("refname"), start))
        elif kind == "op":
            out.append(("op", m.group("op"), start))
        elif kind == "name":
            word = m.group("name")
            out.append(("op" if word in _WORD_OPS else "name", word, start))
        elif kind == "dot":
            out.append(("dot", ".", start))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    LEVELS = [("or",), ("and",), ("=", "!=", "<", "<=", ">", ">="), ("+", "-"), ("*", "div", "mod")]

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        kind, v, pos = self.take()
        if kind != "op" or v != value:
            raise XPathError(f"expected {value!r}, found {v or 'end of expression'!r}", pos)

    def parse(self) -> Node:
        node = self.binary(0)
        kind, v, pos = self.peek()
        if kind != "end":
            raise XPathError(f"unexpected {v!r}", pos)
        return node

    def binary(self, level: int) -> Node:
        if level == len(self.LEVELS):
            return self.unary()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise XPathError("expression nested too deeply", self.peek()[2])
        left = self.binary(level + 1)
        while True:
            kind, v, _ = self.peek()
            if kind == "op" and v in self.LEVELS[level]:
                self.take()
                left = ("op", v, left, self.binary(level + 1))
            else:
                break
        self.depth -= 1
        return left

    def unary(self) -> Node:
        kind, v, pos = self.peek()
        if kind == "op" and v == "-":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise XPathError("expression nested too deeply", pos)
            node = ("neg", self.unary())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        kind, v, pos = self.take()
        if kind == "num":
            return ("num", float(v))
        if kind == "str":
            return ("str", v)
        if kind == "ref":
            return ("ref", v)
        if kind == "dot":
            return ("self",)
        if kind == "op" and v == "(":
            node = self.binary(0)
            self.expect(")")
            return node
        if kind == "name":
            if v not in FUNCTIONS:
                raise XPathError(f"unknown function {v!r}", pos)
            self.expect("(")
            args: list[Node] = []
            if not (self.peek()[0] == "op" and self.peek()[1] == ")"):
                args.append(self.binary(0))
                while self.peek()[0] == "op" and self.peek()[1] == ",":
                    self.take()
                    args.append(self.binary(0))
            self.expect(")")
            low, high = FUNCTIONS[v]
            if len(args) < low or (high is not None and len(args) > high):
                raise XPathError(
                    f"{v}() takes {low if low == high else f'{low} or more'}"
                    f" argument(s), got {len(args)}",
                    pos,
                )
            return ("call", v, tuple(args))
        if kind == "end":
            raise XPathError("expression ends too early", pos)
        raise XPathError(f"unexpected {v!r}", pos)


def parse(text: str) -> Node:
    """Parse an expression; raises :class:`XPathError` naming what and where."""
    if not isinstance(text, str) or not text.strip():
        raise XPathError("empty expression", 0)
    if len(text) > MAX_LENGTH:
        raise XPathError(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH)
    return _Parser(text).parse()


def references(node: Node) -> set[str]:
    """The ``${name}`` references in a parsed expression."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n[0] == "ref":
            out.add(n[1])
        elif n[0] == "op":
            stack += [n[2], n[3]]
        elif n[0] == "neg":
            stack.append(n[1])
        elif n[0] == "call":
            stack += list(n[2])
    return out


# --- evaluation ------------------------------------------------------------------------------
def _to_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list | tuple):
        return " ".join(str(x) for x in v)
    return "" if v is None else str(v)


def _to_num(v: Any) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return float(v)
    s = _to_str(v).strip()
    try:
        return float(s) if re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)", s) else math.nan
    except ValueError:
        return math.nan


def _to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return not (v == 0 or (isinstance(v, float) and math.isnan(v)))
    return bool(_to_str(v))


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _compare(op: str, a: Any, b: Any) -> bool:
    if op in ("=", "!="):
        if isinstance(a, bool) or isinstance(b, bool):
            eq = _to_bool(a) == _to_bool(b)
        elif isinstance(a, int | float) or isinstance(b, int | float):
            eq = _to_num(a) == _to_num(b)
        else:
            eq = _to_str(a) == _to_str(b)
        return eq if op == "=" else not eq
    sa, sb = _to_str(a), _to_str(b)
    if _ISO_DATE.match(sa) and _ISO_DATE.match(sb):
        x: Any
        y: Any
        x, y = sa, sb
    else:
        x, y = _to_num(a), _to_num(b)
        if math.isnan(x) or math.isnan(y):
            return False
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _arith(op: str, a: Any, b: Any) -> float:
    x, y = _to_num(a), _to_num(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "div":
        if y == 0:
            return (
                math.nan
                if x == 0 or math.isnan(x)
                else math.copysign(math.inf, x) * (math.copysign(1, y))
            )
        return x / y
    if y == 0 or math.isnan(x) or math.isnan(y) or math.isinf(x):
        return math.nan
    return math.fmod(x, y)


def evaluate(
    node: Node,
    answers: Mapping[str, Any],
    current: Any = None,
    *,
    today: Callable[[], date] = date.today,
) -> Any:
    """Evaluate a parsed expression against ``answers`` (``.`` is ``current``)."""
    kind = node[0]
    if kind == "num" or kind == "str":
        return node[1]
    if kind == "ref":
        v = answers.get(node[1])
        return "" if v is None else v
    if kind == "self":
        return "" if current is None else current
    if kind == "neg":
        return -_to_num(evaluate(node[1], answers, current, today=today))
    if kind == "op":
        op = node[1]
        if op == "or":
            return _to_bool(evaluate(node[2], answers, current, today=today)) or _to_bool(
                evaluate(node[3], answers, current, today=today)
            )
        if op == "and":
            return _to_bool(evaluate(node[2], answers, current, today=today)) and _to_bool(
                evaluate(node[3], answers, current, today=today)
            )
        a = evaluate(node[2], answers, current, today=today)
        b = evaluate(node[3], answers, current, today=today)
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return _compare(op, a, b)
        return _arith(op, a, b)
    if kind == "call":
        name, args = node[1], node[2]
        if name == "if":
            cond = _to_bool(evaluate(args[0], answers, current, today=today))
            return evaluate(args[1] if cond else args[2], answers, current, today=today)
        vals = [evaluate(a, answers, current, today=today) for a in args]
        if name == "selected":
            return _to_str(vals[1]).strip() in _to_str(vals[0]).split()
        if name == "count-selected":
            return float(len(_to_str(vals[0]).split()))
        if name == "string-length":
            return float(len(_to_str(vals[0])))
        if name == "not":
            return not _to_bool(vals[0])
        if name == "true":
            return True
        if name == "false":
            return False
        if name == "number":
            return _to_num(vals[0])
        if name == "int":
            n = _to_num(vals[0])
            return n if math.isnan(n) or math.isinf(n) else float(math.trunc(n))
        if name == "string":
            return _to_str(vals[0])
        if name == "today":
            return today().isoformat()
        if name == "concat":
            return "".join(_to_str(v) for v in vals)
        if name == "coalesce":
            return vals[0] if _to_str(vals[0]) != "" else vals[1]
    raise XPathError(f"cannot evaluate {kind}", 0)  # unreachable for parsed trees


def truth(node: Node, answers: Mapping[str, Any], current: Any = None, **kw: Any) -> bool:
    return _to_bool(evaluate(node, answers, current, **kw))
