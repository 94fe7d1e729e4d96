"""schemathesis hooks for scripts/fuzz.sh (named by `hooks` in scripts/schemathesis.toml).

They make generated *positive* cases valid where validity depends on more than the
schema can state, so that fuzzing reaches the code behind the checks; negative cases
are left as generated.

- Sign-in's body must name the user of its path (`POST /user/{user_name}` with
  `{"user_name", "pwd"}`), a rule between two parameters. A body name that the schema
  allows is replaced by the path's.
- Generated passwords never match, so every sign-in would be refused (401) and the
  success path never fuzzed: every third well-formed password becomes the user's real
  one (REEL_FUZZ_PWD, set by the script).
- `author_id` in a new video or comment must be the signed-in user's id: a positive
  case's becomes the user's (REEL_FUZZ_USER_ID).
- A list cursor is valid only as the server issued it (signed for its list). A positive
  case's cursor becomes a real one for the script's fixture lists (REEL_FUZZ_*_CURSOR)
  and is dropped for any other list. Negative cases keep their malformed cursors.
- A multipart upload's id is valid only as the server issued it: a positive case's
  `upload_id` in the body of part signing and completion becomes the fixture upload's
  (REEL_FUZZ_UPLOAD_ID), and the part numbers asked for fall within its plan
  (REEL_FUZZ_UPLOAD_PARTS of them), so the signing behind the checks is fuzzed.
"""
import itertools
import os
import re

import schemathesis

NAME = re.compile(r"[A-Za-z0-9_.-]{3,64}")
# Every third well-formed password is the real one. (Not `random`: hypothesis reseeds
# it for each example, so it would answer the same every time.)
REAL_PASSWORD_TURN = itertools.cycle([True, False, False])


def sign_in(case):
    body, path = case.body, case.path_parameters or {}
    if not (isinstance(body, dict) and isinstance(path.get("user_name"), str)):
        return
    if isinstance(body.get("user_name"), str) and NAME.fullmatch(body["user_name"]):
        body["user_name"] = path["user_name"]
    pwd = body.get("pwd")
    if isinstance(pwd, str) and 8 <= len(pwd) <= 256 and next(REAL_PASSWORD_TURN):
        body["pwd"] = os.environ["REEL_FUZZ_PWD"]


def issued_cursor(case):
    """The real cursor of this case's list, if it is one of the fixtures."""
    path = case.path_parameters or {}
    if case.operation.label == "GET /user/{user_name}/videos":
        if path.get("user_name") == "fuzzer":
            return os.environ["REEL_FUZZ_VIDEOS_CURSOR"]
    elif path.get("vid") == os.environ["REEL_FUZZ_READY_VID"]:
        return os.environ["REEL_FUZZ_COMMENTS_CURSOR"]
    return None


UPLOADS = {"POST /upload/{vid}/parts", "POST /upload/{vid}/complete"}
LISTS = {"GET /user/{user_name}/videos", "GET /videos/{vid}/comments"}
AUTHORED = {"POST /user/{user_name}/videos", "POST /videos/{vid}/comments"}


@schemathesis.hook
def before_call(context, case, kwargs):
    label = case.operation.label
    positive = case.meta is not None and case.meta.generation.mode == schemathesis.GenerationMode.POSITIVE
    if label == "POST /user/{user_name}":
        sign_in(case)
    elif label in AUTHORED and positive and isinstance(case.body, dict):
        if isinstance(case.body.get("author_id"), str):
            case.body["author_id"] = os.environ["REEL_FUZZ_USER_ID"]
    elif label in UPLOADS and positive and isinstance(case.body, dict):
        if isinstance(case.body.get("upload_id"), str):
            case.body["upload_id"] = os.environ["REEL_FUZZ_UPLOAD_ID"]
        numbers = case.body.get("part_numbers")
        if isinstance(numbers, list) and all(type(n) is int and n > 0 for n in numbers):
            count = int(os.environ["REEL_FUZZ_UPLOAD_PARTS"])
            case.body["part_numbers"] = sorted({(n - 1) % count + 1 for n in numbers})
    elif label in LISTS and positive and case.query and "cursor" in case.query:
        cursor = issued_cursor(case)
        if cursor is None:
            del case.query["cursor"]
        else:
            case.query["cursor"] = cursor
