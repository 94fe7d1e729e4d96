"""moto_server, with one fix to its S3 replies, for the AWS adapter tests.

moto 5.2 serializes S3 ListParts with the root element `ListPartsResponse`; S3 (and
every SDK, the Rust one included) uses `ListPartsResult`, so the SDK refuses the
reply. Until moto fixes it, the tests' server renames that element and is otherwise
moto_server itself: `python scripts/moto_server.py -H 127.0.0.1 -p PORT`.
"""

import sys

from moto.core import serialize
from moto.server import main

_serialized = serialize.S3Serializer._serialized_result_to_response


def _list_parts_result(self, resp, result, shape, serialized_result):
    resp = _serialized(self, resp, result, shape, serialized_result)
    if self.operation_model.name == "ListParts":
        body = resp["body"]
        wrong, right = "ListPartsResponse", "ListPartsResult"
        if isinstance(body, bytes):
            wrong, right = wrong.encode(), right.encode()
        resp["body"] = body.replace(wrong, right)
    return resp


serialize.S3Serializer._serialized_result_to_response = _list_parts_result

if __name__ == "__main__":
    sys.exit(main())
