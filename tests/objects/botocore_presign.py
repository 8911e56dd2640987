#!/usr/bin/env python3
"""Reference presigned URLs from botocore's own SigV4 query signer, for sigv4_botocore_test.

Reads a JSON array of cases on stdin ({method, url, headers, region, access_key, secret_key,
timestamp "YYYYMMDDTHHMMSSZ", expires}) and prints one signed URL per case. botocore takes the
time from the clock; it is frozen at each case's timestamp so both sides sign the same
instant.
"""
import datetime
import json
import sys
import types

import botocore.auth
import botocore.awsrequest
import botocore.credentials


def frozen_datetime(instant):
    class Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return instant

        @classmethod
        def now(cls, tz=None):
            return instant if tz is None else instant.replace(tzinfo=tz)

    return types.SimpleNamespace(datetime=Frozen, timezone=datetime.timezone,
                                 timedelta=datetime.timedelta)


def sign(case):
    instant = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ")
    # Older botocore calls datetime.datetime.utcnow(), newer get_current_datetime().
    botocore.auth.datetime = frozen_datetime(instant)
    if hasattr(botocore.auth, "get_current_datetime"):
        botocore.auth.get_current_datetime = lambda *args, **kwargs: instant
    creds = botocore.credentials.Credentials(case["access_key"], case["secret_key"])
    signer = botocore.auth.S3SigV4QueryAuth(creds, "s3", case["region"], expires=case["expires"])
    request = botocore.awsrequest.AWSRequest(method=case["method"], url=case["url"],
                                             headers=case.get("headers", {}))
    signer.add_auth(request)
    if "X-Amz-Date=" + case["timestamp"] not in request.url:
        sys.exit("botocore did not sign at the frozen time; this script needs updating")
    return request.url


def main():
    for case in json.load(sys.stdin):
        print(sign(case))


if __name__ == "__main__":
    main()
