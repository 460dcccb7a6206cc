"""codes.py is the simulator's one message table: one text per code, and no other module of
hftlab.sim writes a code or a message of its own."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import hftlab.sim
from hftlab.sim import codes

SIM = Path(hftlab.sim.__file__).parent
CODE = re.compile(r"[1-9]\d{4}")  # OKX's error codes: 5 digits (REST 5xxxx, WebSocket 6xxxx)


def _entries() -> dict[str, codes.Answer]:
    """Every (code, message) pair codes.py defines, by constant name (WebSocket close codes aside)."""
    return {name: v for name, v in vars(codes).items()
            if name.isupper() and isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, str) for x in v)}


def _strings(source: str) -> list[ast.Constant]:
    """The string constants of `source`, docstrings excepted (prose may quote a code or a message)."""
    tree = ast.parse(source)
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def code_literals(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every string constant in `source` that is exactly a 5-digit code.

    Only string constants: OKX sends codes as strings, and the simulator's integers of that size
    are times and limits (60_000 ms). Longer strings that merely contain such a number ("65055" in
    a sentence about formats) are not codes.
    """
    return [(n.lineno, n.value) for n in _strings(source) if CODE.fullmatch(n.value)]


def message_literals(source: str, messages: list[str]) -> list[tuple[int, str]]:
    """(line, literal) of every string constant in `source` that holds one of the table's messages
    (a template up to its first blank)."""
    stems = [m.split("{", 1)[0].strip() for m in messages]
    stems = [s for s in stems if len(s) >= 12]  # shorter stems ("Invalid op:") would match prose
    return [(n.lineno, n.value) for n in _strings(source) if any(s in n.value for s in stems)]


def test_every_code_has_one_message():
    by_code = defaultdict(set)
    for code, msg in _entries().values():
        by_code[code].add(msg)
    assert len(by_code) > 40
    several = {c: m for c, m in by_code.items() if len(m) > 1}
    # the one code OKX itself words by HTTP status (see codes.RATE_LIMIT_429)
    assert several == {"50011": {codes.RATE_LIMIT[1], codes.RATE_LIMIT_429[1]}}


def test_each_code_is_written_once_in_the_table():
    literals = [v for _, v in code_literals((SIM / "codes.py").read_text())]
    assert len(literals) > 40
    assert sorted(literals) == sorted(set(literals)), [c for c in set(literals) if literals.count(c) > 1]


def test_the_two_texts_the_endpoints_used_to_disagree_on():
    # once exchange.py had its own table: 51001 and 51603 read differently on REST and in order ops
    assert codes.NO_INSTRUMENT == ("51001", "Instrument ID, Instrument ID code, or Spread ID doesn't exist.")
    assert codes.ORDER_NOT_EXIST == ("51603", "Order does not exist")


def test_no_other_module_writes_a_code_or_a_message():
    messages = [m for _, m in _entries().values()] + [reason for _, reason in
                                                      (codes.CLOSE_IDLE, codes.CLOSE_BUFFER_FULL,
                                                       codes.CLOSE_ABNORMAL, codes.CLOSE_UPGRADE,
                                                       codes.CLOSE_SHUTDOWN)]
    modules = sorted(p for p in SIM.glob("*.py") if p.name != "codes.py")
    assert {p.name for p in modules} >= {"exchange.py", "validation.py", "rest.py", "ws.py", "trading.py", "gate.py"}
    found = {p.name: code_literals(p.read_text()) + message_literals(p.read_text(), messages) for p in modules}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_the_scan_finds_what_it_looks_for():
    """The scanner is not blind: a code or a message written outside the table is found."""
    src = ('"""A module docstring may quote 51001: Order cancellation failed as the order has been filled."""\n'
           'x = ("51001", "some text")\n'
           'y = f"{a}:60018"\n'
           'z = {"code": "64000"}\n'
           'ms = 60_000\n'
           'w = "Order cancellation failed as the order has been filled, canceled or does not exist."\n'
           'def f():\n'
           '    """A docstring: 60018"""\n'
           '    return "51400"\n')
    assert code_literals(src) == [(2, "51001"), (4, "64000"), (9, "51400")]
    assert message_literals(src, [codes.CANCEL_FAILED[1], codes.RATE_LIMIT[1]]) == [(6, codes.CANCEL_FAILED[1])]
    assert code_literals('r = Rejected("51603", MSG["51603"])') == [(1, "51603"), (1, "51603")]


def test_templates_fill_their_blanks():
    assert codes.fill(codes.PRICE_LIMIT, "105", "95") == \
        ("51006", "Order price is not within the price limit (max buy price: 105 , min sell price: 95 )")
    assert codes.param_error("sz") == ("51000", "Parameter sz error")
    assert codes.empty_param("sz") == ("50014", "Parameter sz can not be empty.")
    assert codes.empty_param("sz", ws=True) == ("60027", "Parameter sz can not be empty.")
    assert codes.invalid_request('{"op": 1}') == ("60012", 'Invalid request: {"op": 1}')
    assert codes.wrong_channel({"channel": "books", "instId": "X"}) == (
        "60018", "Wrong URL or channel:books,instId:X doesn't exist. "
                 "Please use the correct URL, channel and parameters referring to API document.")
    assert all(m.count("{") == m.count("}") for _, m in _entries().values())


def test_an_invalid_request_echo_never_carries_credentials():
    full = '{"op":"login","x":1,"args":[{"apiKey":"k-123","passphrase":"p\\"w","timestamp":"1","sign":"s=="}]}'
    _code, msg = codes.invalid_request(full)
    assert msg == 'Invalid request: {"op":"login","x":1,"args":[{"apiKey":"***","passphrase":"***","timestamp":"1",' \
                  '"sign":"***"}]}'
    for cut in ('{"op":"login","args":[{"apiKey":"k-12', '{"op":"login","args":[{"apiKey":12345,"sign":"s=="}]}'):
        _code, msg = codes.invalid_request(cut)
        assert "k-12" not in msg and "12345" not in msg and "s==" not in msg and msg.endswith("***")
    assert codes.invalid_request("{not json") == ("60012", "Invalid request: {not json")
