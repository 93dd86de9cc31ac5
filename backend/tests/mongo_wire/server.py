#!/usr/bin/env python3
"""A MongoDB-wire-compatible server for orgpulse's tests.

mockupdb (MongoDB's own wire-protocol mock library) speaks the protocol; each command is
executed on mongomock, a widely used in-memory implementation of MongoDB's query and
update semantics. It implements the commands orgpulse's MongoDB store sends and nothing
else. See README.md beside this file for what it cannot check.

usage: server.py [--port PORT]   (prints "ready on PORT" once it accepts connections)
"""

import argparse
import datetime
import itertools
import signal
import sys
import threading

import mongomock
from bson import Int64
from mockupdb import Matcher, MockupDB
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, OperationFailure

LOCK = threading.Lock()  # mongomock is not thread-safe; one command at a time
CLIENT = mongomock.MongoClient()
CURSORS = {}  # id -> (namespace, remaining documents)
CURSOR_IDS = itertools.count(1)
DEFAULT_BATCH = 1000
IGNORED = ("$db", "lsid", "$clusterTime", "txnNumber", "$readPreference", "writeConcern",
           "readConcern", "maxTimeMS", "comment", "apiVersion", "bypassDocumentValidation")


class CommandError(Exception):
    def __init__(self, code, message, name="Location"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.name = name


def cursor_reply(namespace, docs, batch_size, first=True):
    size = batch_size or DEFAULT_BATCH
    batch, rest = docs[:size], docs[size:]
    cursor_id = 0
    if rest:
        cursor_id = next(CURSOR_IDS)
        CURSORS[cursor_id] = (namespace, rest)
    key = "firstBatch" if first else "nextBatch"
    return {"cursor": {"id": Int64(cursor_id), "ns": namespace, key: batch}, "ok": 1}


def write_error(index, exc):
    return {"index": index, "code": 11000 if isinstance(exc, DuplicateKeyError) else 2,
            "errmsg": str(exc)}


def is_operator_update(update):
    return isinstance(update, dict) and update and all(k.startswith("$") for k in update)


def hello():
    return {"ismaster": True, "isWritablePrimary": True, "helloOk": True,
            "maxWireVersion": 21, "minWireVersion": 0,
            "maxBsonObjectSize": 16 * 1024 * 1024, "maxMessageSizeBytes": 48_000_000,
            "maxWriteBatchSize": 100_000, "localTime": datetime.datetime.now(datetime.timezone.utc),
            "logicalSessionTimeoutMinutes": 30, "connectionId": 1, "readOnly": False, "ok": 1}


def execute(cmd):
    name = next(iter(cmd))
    lower = name.lower()
    dbname = cmd.get("$db", "admin")
    db = CLIENT[dbname]
    target = cmd[name]
    ns = "%s.%s" % (dbname, target)

    if lower in ("hello", "ismaster"):
        return hello()
    if lower in ("ping", "endsessions", "killcursors", "abortTransaction".lower(), "committransaction"):
        if lower == "killcursors":
            for cursor_id in cmd.get("cursors", []):
                CURSORS.pop(int(cursor_id), None)
        return {"ok": 1}
    if lower == "buildinfo":
        return {"version": "7.0.0-mongomock", "versionArray": [7, 0, 0, 0], "ok": 1}

    coll = db[target] if isinstance(target, str) else None
    if lower == "insert":
        errors, n = [], 0
        for i, doc in enumerate(cmd.get("documents", [])):
            try:
                coll.insert_one(doc)
                n += 1
            except DuplicateKeyError as exc:
                errors.append(write_error(i, exc))
                if cmd.get("ordered", True):
                    break
        reply = {"n": n, "ok": 1}
        if errors:
            reply["writeErrors"] = errors
        return reply
    if lower == "update":
        errors, n, modified, upserted = [], 0, 0, []
        for i, stmt in enumerate(cmd.get("updates", [])):
            q, u = stmt.get("q", {}), stmt.get("u", {})
            upsert, multi = bool(stmt.get("upsert")), bool(stmt.get("multi"))
            try:
                if isinstance(u, list):
                    raise CommandError(9, "pipeline updates are not supported by this test server")
                if is_operator_update(u):
                    result = (coll.update_many if multi else coll.update_one)(q, u, upsert=upsert)
                else:
                    result = coll.replace_one(q, u, upsert=upsert)
                n += result.matched_count
                modified += result.modified_count
                if result.upserted_id is not None:
                    n += 1
                    upserted.append({"index": i, "_id": result.upserted_id})
            except DuplicateKeyError as exc:
                errors.append(write_error(i, exc))
                if cmd.get("ordered", True):
                    break
        reply = {"n": n, "nModified": modified, "ok": 1}
        if upserted:
            reply["upserted"] = upserted
        if errors:
            reply["writeErrors"] = errors
        return reply
    if lower == "delete":
        n = 0
        for stmt in cmd.get("deletes", []):
            result = (coll.delete_one if stmt.get("limit") == 1 else coll.delete_many)(stmt.get("q", {}))
            n += result.deleted_count
        return {"n": n, "ok": 1}
    if lower == "find":
        cursor = coll.find(cmd.get("filter", {}), cmd.get("projection"))
        if cmd.get("sort"):
            cursor = cursor.sort(list(cmd["sort"].items()))
        if cmd.get("skip"):
            cursor = cursor.skip(int(cmd["skip"]))
        limit = abs(int(cmd.get("limit", 0) or 0))
        if limit:
            cursor = cursor.limit(limit)
        docs = list(cursor)
        if cmd.get("singleBatch"):
            return {"cursor": {"id": Int64(0), "ns": ns, "firstBatch": docs}, "ok": 1}
        return cursor_reply(ns, docs, cmd.get("batchSize"))
    if lower == "getmore":
        cursor_id = int(target)
        namespace, docs = CURSORS.pop(cursor_id, (None, None))
        if docs is None:
            raise CommandError(43, "cursor id %d not found" % cursor_id, "CursorNotFound")
        size = cmd.get("batchSize") or DEFAULT_BATCH
        batch, rest = docs[:size], docs[size:]
        next_id = 0
        if rest:
            next_id = cursor_id
            CURSORS[cursor_id] = (namespace, rest)
        return {"cursor": {"id": Int64(next_id), "ns": namespace, "nextBatch": batch}, "ok": 1}
    if lower == "aggregate":
        docs = list(coll.aggregate(cmd.get("pipeline", [])))
        return cursor_reply(ns, docs, cmd.get("cursor", {}).get("batchSize"))
    if lower == "count":
        return {"n": coll.count_documents(cmd.get("query", {}) or {}), "ok": 1}
    if lower == "findandmodify":
        query, sort = cmd.get("query", {}), cmd.get("sort")
        sort = list(sort.items()) if sort else None
        before = ReturnDocument.AFTER if cmd.get("new") else ReturnDocument.BEFORE
        existed = coll.count_documents(query) > 0
        if cmd.get("remove"):
            value = coll.find_one_and_delete(query, projection=cmd.get("fields"), sort=sort)
            return {"value": value, "lastErrorObject": {"n": 1 if value else 0}, "ok": 1}
        update = cmd.get("update", {})
        method = coll.find_one_and_update if is_operator_update(update) else coll.find_one_and_replace
        value = method(query, update, projection=cmd.get("fields"), sort=sort,
                       upsert=bool(cmd.get("upsert")), return_document=before)
        last = {"n": 1 if (existed or cmd.get("upsert")) else 0, "updatedExisting": existed}
        if cmd.get("upsert") and not existed:
            last["upserted"] = (value or {}).get("_id")
        return {"value": value, "lastErrorObject": last, "ok": 1}
    if lower == "createindexes":
        for spec in cmd.get("indexes", []):
            options = {k: v for k, v in spec.items() if k in ("unique", "name", "sparse", "expireAfterSeconds", "partialFilterExpression")}
            coll.create_index(list(spec["key"].items()), **options)
        return {"createdCollectionAutomatically": False, "numIndexesBefore": 1, "numIndexesAfter": 1, "ok": 1}
    if lower == "listindexes":
        specs = []
        for index_name, info in coll.index_information().items():
            spec = {"v": 2, "key": dict(info["key"]), "name": index_name}
            for option in ("unique", "expireAfterSeconds"):
                if option in info:
                    spec[option] = info[option]
            specs.append(spec)
        return cursor_reply(ns, specs, None)
    if lower == "listcollections":
        names = db.list_collection_names()
        docs = [{"name": n, "type": "collection", "options": {}, "info": {"readOnly": False}} for n in names]
        return cursor_reply("%s.$cmd.listCollections" % dbname, docs, None)
    if lower == "drop":
        coll.drop()
        return {"ok": 1}
    if lower == "dropdatabase":
        CLIENT.drop_database(dbname)
        return {"ok": 1}
    if lower == "create":
        db.create_collection(target)
        return {"ok": 1}
    raise CommandError(59, "no such command: '%s' (this test server implements only what orgpulse sends)" % name, "CommandNotFound")


def handle(request):
    cmd = {k: v for k, v in request.doc.items() if k not in IGNORED or k == "$db"}
    try:
        if next(iter(cmd)).lower() in ("hello", "ismaster", "ping"):
            # Heartbeats touch no data: answering them behind a long batch would make the
            # driver think the server is gone.
            reply = execute(cmd)
        else:
            with LOCK:
                reply = execute(cmd)
    except CommandError as exc:
        reply = {"ok": 0, "errmsg": exc.message, "code": exc.code, "codeName": exc.name}
    except DuplicateKeyError as exc:
        reply = {"ok": 0, "errmsg": str(exc), "code": 11000, "codeName": "DuplicateKey"}
    except (OperationFailure, NotImplementedError, TypeError, ValueError, KeyError) as exc:
        reply = {"ok": 0, "errmsg": "%s: %s" % (type(exc).__name__, exc), "code": 2, "codeName": "BadValue"}
    request.replies(reply)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=27017)
    args = parser.parse_args()
    server = MockupDB(port=args.port, auto_ismaster=False, verbose=False)
    server.autoresponds(Matcher(), handle)
    port = server.run()
    print("ready on %d" % port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
