"""What a request body must be: a JSON object, in UTF-8, naming each key once (RFC 8259)."""
from __future__ import annotations

import codecs
import json

from flask import request

from .problems import ApiProblem

JSON_TYPES = ("application/json",)
UTF8_NAMES = ("utf-8", "utf8")


def _pairs_noting_duplicates(twice: list[str]):
    """A json object_pairs_hook that builds each object and notes in `twice` every key it meets more
    than once (json would quietly keep the last value)."""

    def build(pairs):
        seen = set()
        for key, _value in pairs:
            if key in seen and key not in twice:
                twice.append(key)
            seen.add(key)
        return dict(pairs)

    return build


def _refuse_constant(name: str):
    """json's parse_constant: NaN, Infinity and -Infinity aren't JSON (RFC 8259), though Python's json reads them."""
    raise ValueError(f"{name} is not JSON")


def _unreadable(words: str) -> ApiProblem:
    """A 400 for a body that can't be read as JSON, naming (body) in errors as a 422 names its field:
    one shape for every problem about what was sent (it had no errors: a residents' building's tester)."""
    return ApiProblem(400, words, errors=[{"location": "body", "name": "(body)", "detail": words}])


def check_body(safe_methods) -> dict | None:
    """A request body, when there is one, is a UTF-8 JSON object: 415 for another type, charset or content coding,
    400 when it isn't UTF-8 (a byte order mark, UTF-16) or doesn't parse (NaN and Infinity included), 422 for a non-object or a
    key named twice (the problem lists them, so the client learns which of its values were ambiguous)."""
    if request.method in safe_methods:
        return None
    raw = request.get_data(cache=True)
    if not raw:
        return None
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # Sent in chunks (no Content-Length): Werkzeug reads up to the limit and quietly stops, so a
        # body that reaches it was cut short. Refused as one with a Content-Length past it is.
        raise ApiProblem(413, f"The request body is larger than {limit // 1024} KiB.")
    codings = [coding.strip() for coding in request.headers.get("Content-Encoding", "").split(",") if coding.strip()]
    unsupported = [coding for coding in codings if coding.lower() != "identity"]
    if unsupported:  # read as they came, gzip's bytes were "not UTF-8" (an API tester); RFC 9110, 15.5.16
        raise ApiProblem(415, f"The request body is sent with Content-Encoding: {', '.join(unsupported)}, which this "
                              "API doesn't take: send it uncompressed.", headers={"Accept-Encoding": "identity"})
    if request.mimetype not in JSON_TYPES:
        raise ApiProblem(415, "Send the request body as JSON (Content-Type: application/json).")
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.strip().lower() not in UTF8_NAMES:
        raise ApiProblem(415, "Send JSON in UTF-8: Content-Type: application/json, with no charset or charset=utf-8.")
    if raw.startswith(codecs.BOM_UTF8):
        raise _unreadable("The request body starts with a byte order mark: send UTF-8 JSON without one.")
    twice: list[str] = []
    try:
        body = json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs_noting_duplicates(twice),
                          parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise _unreadable("The request body isn't UTF-8: send JSON in UTF-8.") from None
    except ValueError as error:
        if "integer string conversion" in str(error):  # valid JSON, a number of over 4,300 digits
            words = "A number in the request body has more digits than any value here takes."
            raise ApiProblem(422, words, errors=[{"location": "body", "name": "(body)", "detail": words}]) from None
        raise _unreadable("The request body isn't valid JSON.") from None
    except RecursionError:  # thousands of nested brackets: JSON, but past what the parser follows
        raise _unreadable("The request body nests arrays or objects too deeply: no request here takes more "
                          "than a few levels.") from None
    if twice:
        raise ApiProblem(422, "The request body names a key more than once.", errors=[
            {"location": "body", "name": key, "detail": "Named more than once: send each key once."} for key in twice
        ])
    if not isinstance(body, dict):
        words = "The request body must be a JSON object."
        raise ApiProblem(422, words, errors=[{"location": "body", "name": "(body)", "detail": words}])
    return body


def refuse_keys(body) -> None:
    """For a write that takes no body: an empty object is fine, a key is refused by name (a client
    sending {"hidden": false} to /hide had it hidden without a word)."""
    if body:
        raise ApiProblem(422, "This request takes no body: send none, or {}.", errors=[
            {"location": "body", "name": key, "detail": "Not taken here."} for key in body
        ])
