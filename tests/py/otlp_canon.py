#!/usr/bin/python3
"""otlp_canon.py — an independent implementation of tracelite's canonical
OTLP NDJSON (docs/format-ndjson.md), for the round-trip tests to compare
trace_export() against.  Standard library only (Debian's /usr/bin/python3).

canonical_lines(src) reads OTLP JSON in every shape tracelite's OTLP reader
accepts (docs/formats-in/otlp.md): an ExportTraceServiceRequest document or
several one after another, NDJSON of requests, {"result": ...} (Jaeger API
v3), {"batches": [...]} with the pre-1.0 instrumentationLibrary* names,
snake_case names, hex or base64 ids, enum names for kind and status code,
integers as numbers or strings.  It returns one canonical line per span, in
input order, each without its trailing newline.  Input it cannot accept
raises OtlpError.

It is written from the specification, not from the C code: Python's json
module parses, and the rules below are applied on the parsed values.  Where
Python's json is laxer than RFC 8259 (NaN literals, lone surrogates, no
depth limit), the input is refused here as the C parser refuses it.

    python3 tests/py/otlp_canon.py FILE...     prints the canonical lines
    python3 tests/py/otlp_canon.py --self-test checks the rules on small cases
"""
import base64
import gzip
import json
import os
import re
import subprocess
import sys

MAX_VALUE_DEPTH = 32    # arrays / kvlists nested in one attribute value (TL_MAX_DEPTH)
MAX_JSON_DEPTH = 512    # JSON objects and arrays nested in one request
U32 = (1 << 32) - 1
U64 = (1 << 64) - 1
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1

KIND_NAMES = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"]
STATUS_NAMES = ["UNSET", "OK", "ERROR"]

# Names a field may have, in order of precedence: camelCase, snake_case,
# then the pre-1.0 OTLP names (Tempo's "batches" files).
N_RESOURCE_SPANS = ("resourceSpans", "resource_spans", "batches")
N_SCOPE_SPANS = ("scopeSpans", "scope_spans", "instrumentationLibrarySpans",
                 "instrumentation_library_spans")
N_SCOPE = ("scope", "instrumentationLibrary", "instrumentation_library")
N_SCHEMA = ("schemaUrl", "schema_url")
N_DROPPED_ATTRS = ("droppedAttributesCount", "dropped_attributes_count")
N_TRACE_ID = ("traceId", "trace_id")
N_SPAN_ID = ("spanId", "span_id")
N_TRACE_STATE = ("traceState", "trace_state")
VALUE_MEMBERS = ("stringValue", "boolValue", "intValue", "doubleValue",
                 "arrayValue", "kvlistValue", "bytesValue")


class OtlpError(ValueError):
    pass


# ---- reading JSON ------------------------------------------------------------

def _raise_constant(name):
    raise OtlpError(f"invalid JSON: {name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_constant=_raise_constant)
_WS = " \t\n\r"


def _check_tree(v, depth=1):
    """Refuses what strict JSON refuses and Python's json lets through:
    lone surrogates (from \\uD800 escapes), and nesting past the limit."""
    if isinstance(v, dict):
        if depth > MAX_JSON_DEPTH:
            raise OtlpError(f"invalid JSON: nesting deeper than {MAX_JSON_DEPTH} levels")
        for k, x in v.items():
            _check_str(k)
            _check_tree(x, depth + 1)
    elif isinstance(v, list):
        if depth > MAX_JSON_DEPTH:
            raise OtlpError(f"invalid JSON: nesting deeper than {MAX_JSON_DEPTH} levels")
        for x in v:
            _check_tree(x, depth + 1)
    elif isinstance(v, str):
        _check_str(v)


def _check_str(s):
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise OtlpError("invalid JSON: unpaired surrogate in a string") from None


def _parse_object(text, pos):
    """The JSON object starting exactly at text[pos], and where it ends."""
    if pos >= len(text) or text[pos] != "{":
        raise OtlpError("invalid JSON: expected '{' (an OTLP JSON object)")
    try:
        obj, end = _DECODER.raw_decode(text, pos)
    except (json.JSONDecodeError, RecursionError) as e:
        raise OtlpError(f"invalid JSON: {e}") from None
    _check_tree(obj)
    return obj, end


def _skip_ws(text, pos):
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def _whole_line_object(line):
    """The object if line is exactly one JSON object (and whitespace)."""
    pos = _skip_ws(line, 0)
    obj, end = _parse_object(line, pos)
    if _skip_ws(line, end) != len(line):
        raise OtlpError("invalid JSON: text after the object (NDJSON needs one object per line)")
    return obj


def _load_bytes(data):
    if data[:4] == b"\x28\xb5\x2f\xfd":
        data = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    elif data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise OtlpError(f"invalid UTF-8: {e}") from None
    return text[1:] if text.startswith("\ufeff") else text


def requests(text):
    """The ExportTraceServiceRequest objects of an input, in order.

    The first line that is not blank decides: one complete JSON object on
    it means NDJSON (every non-blank line one object); otherwise the text is
    one or more JSON objects separated by whitespace."""
    start = _skip_ws(text, 0)
    if start == len(text):
        return []
    nl = text.find("\n", start)
    first = text[start:] if nl < 0 else text[start:nl]
    try:
        _whole_line_object(first)
        ndjson = True
    except OtlpError:
        ndjson = False
    out = []
    if ndjson:
        for line in text.split("\n"):
            if _skip_ws(line, 0) < len(line):
                out.append(_whole_line_object(line))
        return out
    pos = _skip_ws(text, 0)
    while pos < len(text):
        obj, pos = _parse_object(text, pos)
        out.append(obj)
        pos = _skip_ws(text, pos)
    return out


# ---- fields ----------------------------------------------------------------------

def _pick(obj, names):
    """(present, value) of the first of names present in obj; null is a
    value here (the caller treats it as absent)."""
    for n in names:
        if n in obj:
            return True, obj[n]
    return False, None


def _get(obj, names):
    if isinstance(names, str):
        names = (names,)
    return _pick(obj, names)[1]


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _string(v, what):
    if v is None:
        return ""
    if not isinstance(v, str):
        raise OtlpError(f"{what}: expected a string")
    return v


def _uint(v, maxval, what):
    """An unsigned integer: a JSON integer, or a string of decimal digits."""
    if v is None:
        return 0
    if _is_int(v):
        n = v
    elif isinstance(v, str) and re.fullmatch(r"[0-9]+", v):
        n = int(v)
    else:
        n = -1
    if not 0 <= n <= maxval:
        raise OtlpError(f"{what}: expected an integer from 0 to {maxval}")
    return n


def _int64(v, what):
    if _is_int(v):
        n = v
    elif isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v):
        n = int(v)
    else:
        raise OtlpError(f"{what}: expected a 64-bit signed integer")
    if not I64_MIN <= n <= I64_MAX:
        raise OtlpError(f"{what}: expected a 64-bit signed integer")
    return n


def _enum(v, names, prefix, what):
    """An enum: an integer index of names, or a name, ASCII case ignored,
    with or without the OTLP prefix ("SPAN_KIND_SERVER" or "server")."""
    if v is None:
        return 0
    if _is_int(v) and 0 <= v < len(names):
        return v
    if isinstance(v, str):
        b = v.encode("utf-8")
        p = prefix.encode()
        if len(b) > len(p) and b[:len(p)].upper() == p:
            b = b[len(p):]
        for i, name in enumerate(names):
            if b.upper() == name.encode():
                return i
    raise OtlpError(f"{what}: expected 0 to {len(names) - 1} or a {prefix}* name")


_B64 = {c: i for i, c in enumerate(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_B64["-"] = 62
_B64["_"] = 63


def _base64(s, what):
    """Standard or URL-safe alphabet, '=' padding optional; the unused low
    bits of the last character must be zero."""
    s = s.rstrip("=")
    if len(s) % 4 == 1:
        raise OtlpError(f"{what}: invalid base64")
    out = bytearray()
    acc = bits = 0
    for ch in s:
        v = _B64.get(ch)
        if v is None:
            raise OtlpError(f"{what}: invalid base64")
        acc = (acc << 6) | v
        bits += 6
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
            acc &= (1 << bits) - 1
    if acc:
        raise OtlpError(f"{what}: invalid base64")
    return bytes(out)


def _id(v, n, required, what):
    """An id of n bytes: 2n hex digits, else base64 of exactly n bytes."""
    if v is None or v == "":
        if required:
            raise OtlpError(f"{what}: missing id")
        return bytes(n)
    if isinstance(v, str):
        if len(v) == 2 * n:
            if re.fullmatch(r"[0-9a-fA-F]*", v):
                return bytes.fromhex(v)
        elif len(v) <= 4 * n:
            try:
                b = _base64(v, what)
            except OtlpError:
                b = b""
            if len(b) == n:
                return b
    raise OtlpError(f"{what}: expected {2 * n} hex digits or base64 of {n} bytes")


_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _double(v, what):
    if isinstance(v, str):
        special = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
        if v in special:
            return special[v]
        if not _NUMBER.fullmatch(v):
            raise OtlpError(f"{what}: expected a number")
        v = float(v)
    elif _is_int(v):
        try:
            v = float(v)
        except OverflowError:
            raise OtlpError(f"{what}: number out of range") from None
    elif not isinstance(v, float):
        raise OtlpError(f"{what}: expected a number")
    if v != v or v in (float("inf"), float("-inf")):
        raise OtlpError(f"{what}: number out of range")
    return v


# ---- writing -------------------------------------------------------------------------

def _jstr(s):
    return json.dumps(s, ensure_ascii=False)


def _jdouble(d):
    """The first of %.15g, %.16g, %.17g that reads back as d, with ".0"
    appended when it shows neither '.' nor an exponent; NaN and the
    infinities as proto3 JSON strings."""
    if d != d:
        return '"NaN"'
    if d in (float("inf"), float("-inf")):
        return '"Infinity"' if d > 0 else '"-Infinity"'
    for prec in (15, 16, 17):
        s = "%.*g" % (prec, d)
        if float(s) == d:
            break
    if "." not in s and "e" not in s:
        s += ".0"
    return s


def _any_value(v, depth, what):
    """The canonical AnyValue object of a parsed AnyValue."""
    if not isinstance(v, dict):
        raise OtlpError(f"{what}: expected an AnyValue object")
    chosen = []
    for m in VALUE_MEMBERS:
        snake = re.sub(r"([A-Z])", lambda x: "_" + x.group(1).lower(), m)
        val = _get(v, (m, snake))
        if val is not None:
            chosen.append((m, val))
    if not chosen:
        return "{}"
    if len(chosen) > 1:
        raise OtlpError(f"{what}: both {chosen[0][0]} and {chosen[1][0]} are set")
    m, val = chosen[0]
    w = f"{what}.{m}"
    if m == "stringValue":
        if not isinstance(val, str):
            raise OtlpError(f"{w}: expected a string")
        return '{"stringValue":%s}' % _jstr(val)
    if m == "boolValue":
        if not isinstance(val, bool):
            raise OtlpError(f"{w}: expected true or false")
        return '{"boolValue":%s}' % ("true" if val else "false")
    if m == "intValue":
        return '{"intValue":"%d"}' % _int64(val, w)
    if m == "doubleValue":
        return '{"doubleValue":%s}' % _jdouble(_double(val, w))
    if m == "bytesValue":
        if not isinstance(val, str):
            raise OtlpError(f"{w}: expected a base64 string")
        return '{"bytesValue":"%s"}' % base64.b64encode(_base64(val, w)).decode()
    if not isinstance(val, dict):
        raise OtlpError(f"{w}: expected an object")
    if depth >= MAX_VALUE_DEPTH:
        raise OtlpError(f"{w}: nested deeper than {MAX_VALUE_DEPTH} arrays and kvlists")
    items = val.get("values")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise OtlpError(f"{w}.values: expected an array")
    if not items:
        return '{"%s":{}}' % m
    if m == "arrayValue":
        body = ",".join(_any_value(x, depth + 1, f"{w}.values[{i}]") for i, x in enumerate(items))
        return '{"arrayValue":{"values":[%s]}}' % body
    return '{"kvlistValue":{"values":%s}}' % _key_values(items, depth + 1, f"{w}.values")


def _key_values(items, depth, what):
    out = []
    for i, kv in enumerate(items):
        w = f"{what}[{i}]"
        if not isinstance(kv, dict):
            raise OtlpError(f"{w}: expected a KeyValue object")
        key = _string(kv.get("key"), f"{w}.key")
        value = kv.get("value")
        vtext = "{}" if value is None else _any_value(value, depth, f"{w}.value")
        out.append('{"key":%s,"value":%s}' % (_jstr(key), vtext))
    return "[" + ",".join(out) + "]"


def _attr_members(obj, what):
    """The "attributes" and "droppedAttributesCount" members of a Resource,
    Scope, Event or Link, as a list of "name":value texts."""
    out = []
    attrs = obj.get("attributes")
    if attrs is not None:
        if not isinstance(attrs, list):
            raise OtlpError(f"{what}.attributes: expected an array of KeyValue")
        if attrs:
            out.append('"attributes":' + _key_values(attrs, 0, f"{what}.attributes"))
    dropped = _uint(_get(obj, N_DROPPED_ATTRS), U32, f"{what}.droppedAttributesCount")
    if dropped:
        out.append('"droppedAttributesCount":%d' % dropped)
    return out


def _object(v, what):
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise OtlpError(f"{what}: expected an object")
    return v


def _list(v, what):
    if v is None:
        return []
    if not isinstance(v, list):
        raise OtlpError(f"{what}: expected an array")
    return v


def _resource(rs, what):
    res = _object(rs.get("resource"), f"{what}.resource")
    members = _attr_members(res, f"{what}.resource")
    schema = _string(_get(rs, N_SCHEMA), f"{what}.schemaUrl")
    return ("{" + ",".join(members) + "}") if members else None, schema


def _scope(ss, what):
    sc = _object(_get(ss, N_SCOPE), f"{what}.scope")
    members = []
    for key in ("name", "version"):
        s = _string(sc.get(key), f"{what}.scope.{key}")
        if s:
            members.append('"%s":%s' % (key, _jstr(s)))
    members += _attr_members(sc, f"{what}.scope")
    schema = _string(_get(ss, N_SCHEMA), f"{what}.schemaUrl")
    return ("{" + ",".join(members) + "}") if members else None, schema


def _span(sp, what):
    if not isinstance(sp, dict):
        raise OtlpError(f"{what}: expected an object")
    m = []
    m.append('"traceId":"%s"' % _id(_get(sp, N_TRACE_ID), 16, True, f"{what}.traceId").hex())
    m.append('"spanId":"%s"' % _id(_get(sp, N_SPAN_ID), 8, True, f"{what}.spanId").hex())
    state = _string(_get(sp, N_TRACE_STATE), f"{what}.traceState")
    if state:
        m.append('"traceState":' + _jstr(state))
    parent = _id(_get(sp, ("parentSpanId", "parent_span_id")), 8, False, f"{what}.parentSpanId")
    if any(parent):
        m.append('"parentSpanId":"%s"' % parent.hex())
    flags = _uint(sp.get("flags"), U32, f"{what}.flags")
    if flags:
        m.append('"flags":%d' % flags)
    name = _string(sp.get("name"), f"{what}.name")
    if name:
        m.append('"name":' + _jstr(name))
    kind = _enum(sp.get("kind"), KIND_NAMES, "SPAN_KIND_", f"{what}.kind")
    if kind:
        m.append('"kind":%d' % kind)
    for key, snake in (("startTimeUnixNano", "start_time_unix_nano"),
                       ("endTimeUnixNano", "end_time_unix_nano")):
        t = _uint(_get(sp, (key, snake)), U64, f"{what}.{key}")
        if t:
            m.append('"%s":"%d"' % (key, t))
    m += _attr_members(sp, what)
    events = []
    for i, ev in enumerate(_list(sp.get("events"), f"{what}.events")):
        w = f"{what}.events[{i}]"
        if not isinstance(ev, dict):
            raise OtlpError(f"{w}: expected an object")
        em = []
        t = _uint(_get(ev, ("timeUnixNano", "time_unix_nano")), U64, f"{w}.timeUnixNano")
        if t:
            em.append('"timeUnixNano":"%d"' % t)
        ename = _string(ev.get("name"), f"{w}.name")
        if ename:
            em.append('"name":' + _jstr(ename))
        em += _attr_members(ev, w)
        events.append("{" + ",".join(em) + "}")
    if events:
        m.append('"events":[' + ",".join(events) + "]")
    n = _uint(_get(sp, ("droppedEventsCount", "dropped_events_count")), U32, f"{what}.droppedEventsCount")
    if n:
        m.append('"droppedEventsCount":%d' % n)
    links = []
    for i, ln in enumerate(_list(sp.get("links"), f"{what}.links")):
        w = f"{what}.links[{i}]"
        if not isinstance(ln, dict):
            raise OtlpError(f"{w}: expected an object")
        lm = ['"traceId":"%s"' % _id(_get(ln, N_TRACE_ID), 16, True, f"{w}.traceId").hex(),
              '"spanId":"%s"' % _id(_get(ln, N_SPAN_ID), 8, True, f"{w}.spanId").hex()]
        lstate = _string(_get(ln, N_TRACE_STATE), f"{w}.traceState")
        if lstate:
            lm.append('"traceState":' + _jstr(lstate))
        lm += _attr_members(ln, w)
        lflags = _uint(ln.get("flags"), U32, f"{w}.flags")
        if lflags:
            lm.append('"flags":%d' % lflags)
        links.append("{" + ",".join(lm) + "}")
    if links:
        m.append('"links":[' + ",".join(links) + "]")
    n = _uint(_get(sp, ("droppedLinksCount", "dropped_links_count")), U32, f"{what}.droppedLinksCount")
    if n:
        m.append('"droppedLinksCount":%d' % n)
    st = _object(sp.get("status"), f"{what}.status")
    sm = []
    msg = _string(st.get("message"), f"{what}.status.message")
    if msg:
        sm.append('"message":' + _jstr(msg))
    code = _enum(st.get("code"), STATUS_NAMES, "STATUS_CODE_", f"{what}.status.code")
    if code:
        sm.append('"code":%d' % code)
    if sm:
        m.append('"status":{' + ",".join(sm) + "}")
    return "{" + ",".join(m) + "}"


def _request_lines(req):
    present, rs_list = _pick(req, N_RESOURCE_SPANS)
    what = ""
    if not present:
        if req.get("error") is not None:
            err = req["error"]
            msg = err.get("message") if isinstance(err, dict) else None
            raise OtlpError("the input is an error response" + (f": {msg}" if isinstance(msg, str) else ""))
        if "result" in req:
            res = req["result"]
            if res is None:
                return []
            if not isinstance(res, dict):
                raise OtlpError("result: expected an object")
            rs_list = _get(res, N_RESOURCE_SPANS)
            what = "result."
        elif req:
            raise OtlpError("expected an OTLP ExportTraceServiceRequest: an object with "
                            '"resourceSpans" (or "result" or "batches")')
    lines = []
    for i, rs in enumerate(_list(rs_list, f"{what}resourceSpans")):
        rw = f"{what}resourceSpans[{i}]"
        if not isinstance(rs, dict):
            raise OtlpError(f"{rw}: expected an object")
        resource = None
        for j, ss in enumerate(_list(_get(rs, N_SCOPE_SPANS), f"{rw}.scopeSpans")):
            sw = f"{rw}.scopeSpans[{j}]"
            if not isinstance(ss, dict):
                raise OtlpError(f"{sw}: expected an object")
            scope = None
            for k, sp in enumerate(_list(ss.get("spans"), f"{sw}.spans")):
                if resource is None:
                    resource = _resource(rs, rw)
                if scope is None:
                    scope = _scope(ss, sw)
                span = _span(sp, f"{sw}.spans[{k}]")
                (res_text, res_schema), (sc_text, sc_schema) = resource, scope
                line = '{"resourceSpans":[{'
                if res_text:
                    line += '"resource":' + res_text + ","
                line += '"scopeSpans":[{'
                if sc_text:
                    line += '"scope":' + sc_text + ","
                line += '"spans":[' + span + "]"
                if sc_schema:
                    line += ',"schemaUrl":' + _jstr(sc_schema)
                line += "}]"
                if res_schema:
                    line += ',"schemaUrl":' + _jstr(res_schema)
                lines.append(line + "}]}")
    return lines


def canonical_lines(src):
    """The canonical NDJSON lines (without "\\n") of the spans in src: a
    path, JSON text (a str starting with '{' after whitespace), or bytes."""
    if isinstance(src, (bytes, bytearray)):
        text = _load_bytes(bytes(src))
    elif isinstance(src, str) and src.lstrip(_WS).startswith("{"):
        text = src
    else:
        with open(os.fspath(src), "rb") as f:
            text = _load_bytes(f.read())
    lines = []
    for req in requests(text):
        lines += _request_lines(req)
    return lines


# ---- self-test --------------------------------------------------------------------------

def _self_test():
    def one(doc):
        got = canonical_lines(json.dumps(doc) if not isinstance(doc, str) else doc)
        assert len(got) == 1, got
        return got[0]

    def fails(doc, needle):
        try:
            canonical_lines(doc if isinstance(doc, str) else json.dumps(doc))
        except OtlpError as e:
            assert needle in str(e), (needle, str(e))
            return
        raise AssertionError(f"accepted: {doc}")

    def span(**kw):
        s = {"traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708"}
        s.update(kw)
        return {"resourceSpans": [{"scopeSpans": [{"spans": [s]}]}]}

    base = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"%s}]}]}]}'
    assert one(span()) == base % ""
    # base64 and upper-case hex ids give the same line as lowercase hex
    assert one(span(traceId="AQIDBAUGBwgJCgsMDQ4PEA==", spanId="AQIDBAUGBwg=")) == base % ""
    assert one(span(traceId="0102030405060708090A0B0C0D0E0F10")) == base % ""
    assert one(span(parentSpanId="")) == base % ""
    assert one(span(parentSpanId="0000000000000000")) == base % ""
    # enums, numbers as strings, defaults omitted
    assert one(span(kind="SPAN_KIND_SERVER", status={"code": "STATUS_CODE_ERROR", "message": ""},
                    startTimeUnixNano=5, flags="257")) == base % ',"flags":257,"kind":2,"startTimeUnixNano":"5","status":{"code":2}'
    assert one(span(kind=0, flags=0, name="", status={})) == base % ""
    # every value type
    attrs = [{"key": "s", "value": {"stringValue": ""}}, {"key": "b", "value": {"boolValue": False}},
             {"key": "i", "value": {"intValue": -5}}, {"key": "d", "value": {"doubleValue": 1}},
             {"key": "n", "value": {"doubleValue": "NaN"}}, {"key": "x", "value": {"bytesValue": "AAAwOQ"}},
             {"key": "a", "value": {"arrayValue": {"values": [{"intValue": "1"}, {}]}}},
             {"key": "e", "value": {"arrayValue": {}}}, {"key": "k", "value": {"kvlistValue": {"values": [{"key": "z"}]}}},
             {"value": {}}, {"key": "s", "value": {"string_value": "dup"}}]
    assert one(span(attributes=attrs)) == base % (
        ',"attributes":[{"key":"s","value":{"stringValue":""}},{"key":"b","value":{"boolValue":false}},'
        '{"key":"i","value":{"intValue":"-5"}},{"key":"d","value":{"doubleValue":1.0}},'
        '{"key":"n","value":{"doubleValue":"NaN"}},{"key":"x","value":{"bytesValue":"AAAwOQ=="}},'
        '{"key":"a","value":{"arrayValue":{"values":[{"intValue":"1"},{}]}}},'
        '{"key":"e","value":{"arrayValue":{}}},{"key":"k","value":{"kvlistValue":{"values":[{"key":"z","value":{}}]}}},'
        '{"key":"","value":{}},{"key":"s","value":{"stringValue":"dup"}}]')
    assert _jdouble(0.1) == "0.1" and _jdouble(1e15) == "1e+15" and _jdouble(-0.0) == "-0.0"
    assert _jdouble(123456789012345678.0) == "1.2345678901234568e+17"
    # wrappers, NDJSON, legacy names
    legacy = {"batches": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "a"}}]},
                           "instrumentationLibrarySpans": [{"instrumentationLibrary": {"name": "l"},
                                                            "spans": [span()["resourceSpans"][0]["scopeSpans"][0]["spans"][0]]}]}]}
    want = ('{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},'
            '"scopeSpans":[{"scope":{"name":"l"},"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10",'
            '"spanId":"0102030405060708"}]}]}]}')
    assert one(legacy) == want
    assert one({"result": legacy}) == want
    assert canonical_lines(json.dumps(legacy) + "\n\n" + json.dumps(span()) + "\n") == [want, base % ""]
    assert canonical_lines(json.dumps(legacy, indent=2) + json.dumps(span(), indent=1)) == [want, base % ""]
    # refusals
    fails(span(traceId="0102"), "expected 32 hex digits or base64 of 16 bytes")
    fails(span(spanId=None), "missing id")
    fails(span(kind=6), "kind")
    fails(span(startTimeUnixNano=1.5), "startTimeUnixNano")
    fails(span(attributes=[{"key": "k", "value": {"stringValue": "a", "intValue": "1"}}]), "both")
    fails('{"resourceSpans": [', "invalid JSON")
    fails('{"resourceSpans": NaN}', "invalid JSON")
    fails('{"resourceSpans": "\\ud800"}', "unpaired surrogate")
    deep = {"intValue": "1"}
    for _ in range(33):
        deep = {"arrayValue": {"values": [deep]}}
    fails(span(attributes=[{"key": "k", "value": deep}]), "nested deeper than 32")
    print("otlp_canon self-test passed")


def main(argv):
    if argv[1:] == ["--self-test"]:
        _self_test()
        return 0
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for path in argv[1:]:
        for line in canonical_lines(path):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
