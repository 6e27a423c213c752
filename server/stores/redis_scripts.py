"""The Lua scripts of the Redis store (server/stores/redis.py), one per operation, so each
read and write of a document is atomic; and the keys they work on.

Per document, all under one hash tag (see `server.ops.redisconn.doc_key`):
- `tandem:{doc}:snapshot`  the compacted snapshot (a Yjs update), absent until a compaction;
- `tandem:{doc}:tail`      a list of updates appended since, oldest first;
- `tandem:{doc}:meta`      a hash: created_at, updated_at, generation, snapshot_size, tail_size,
  and title (absent while the document has none).
History (versions) is kept apart, so compaction never touches it:
- `tandem:{doc}:v:meta`, `:v:diff`, `:v:sv`  lists, entry n-1 is version n (metadata JSON, the
  update from version n-1, the state vector at n);
- `tandem:{doc}:v:cp` (hash version -> full state) and `:v:cpi` (sorted set of those versions).
`tandem:{doc}:deleted` the time the document was deleted (its tombstone), until it is created
again.
Comment threads: `tandem:{doc}:comments`, a hash thread id -> thread JSON
(server/stores/redis_threads.py).
`tandem:docs` is the set of document ids; `tandem:revocations` a hash of revoked users (user ->
"issued_before keep_until"). Compaction checks the generation inside its script, so an append
that lands between the compactor's read and its write is kept, never lost.
"""

from __future__ import annotations

from server.ops.redisconn import doc_key

_LOAD = """
local meta = redis.call('HGET', KEYS[1], 'generation')
if not meta then return false end
return {redis.call('GET', KEYS[2]) or '', meta, redis.call('LRANGE', KEYS[3], 0, -1),
        redis.call('EXISTS', KEYS[2])}
"""

# KEYS meta, tail; ARGV now, update...
_APPEND = """
local size = 0
for i = 2, #ARGV, 1000 do
  local last = math.min(i + 999, #ARGV)
  for j = i, last do size = size + string.len(ARGV[j]) end
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, last))
end
if redis.call('HSETNX', KEYS[1], 'created_at', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'generation', 0, 'snapshot_size', 0, 'tail_size', 0)
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[1])
local total = redis.call('HINCRBY', KEYS[1], 'tail_size', size)
return {redis.call('LLEN', KEYS[2]), total, redis.call('HGET', KEYS[1], 'snapshot_size')}
"""

# KEYS meta, tail, snapshot; ARGV generation, folded count, snapshot
_COMPACT = """
local gen = redis.call('HGET', KEYS[1], 'generation')
if not gen or gen ~= ARGV[1] then return 0 end
local n = tonumber(ARGV[2])
local removed = 0
if n > 0 then
  for _, v in ipairs(redis.call('LRANGE', KEYS[2], 0, n - 1)) do
    removed = removed + string.len(v)
  end
  redis.call('LTRIM', KEYS[2], n, -1)
end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('HINCRBY', KEYS[1], 'generation', 1)
redis.call('HINCRBY', KEYS[1], 'tail_size', -removed)
redis.call('HSET', KEYS[1], 'snapshot_size', string.len(ARGV[3]))
return 1
"""

_INFO = """
local m = redis.call('HMGET', KEYS[1], 'created_at', 'updated_at', 'snapshot_size', 'tail_size',
                     'title')
if not m[1] then return false end
return {m[1], m[2], m[3], m[4], redis.call('LLEN', KEYS[2]), m[5]}
"""

# KEYS meta, tail; ARGV now, title ('' clears it): creates the record of a document that has
# none; returns what _INFO does
_SET_TITLE = """
if redis.call('HSETNX', KEYS[1], 'created_at', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'updated_at', ARGV[1], 'generation', 0, 'snapshot_size', 0,
             'tail_size', 0)
end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], 'title')
else
  redis.call('HSET', KEYS[1], 'title', ARGV[2])
end
local m = redis.call('HMGET', KEYS[1], 'created_at', 'updated_at', 'snapshot_size', 'tail_size',
                     'title')
return {m[1], m[2], m[3], m[4], redis.call('LLEN', KEYS[2]), m[5]}
"""

# KEYS tombstone, then every key of the document; ARGV now
_DELETE = """
local existed = redis.call('EXISTS', KEYS[2], KEYS[5])
redis.call('DEL', unpack(KEYS, 2))
redis.call('SET', KEYS[1], ARGV[1])
return existed
"""

# KEYS meta, diff, sv, cp, cpi; ARGV version, meta, diff, sv[, checkpoint]
_APPEND_VERSION = """
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) - 1 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[4])
if #ARGV >= 5 then
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[5])
  redis.call('ZADD', KEYS[5], ARGV[1], ARGV[1])
end
return 1
"""

# KEYS meta; ARGV version, the meta as read, the new meta
_NAME_VERSION = """
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
if redis.call('LINDEX', KEYS[1], -1) ~= ARGV[2] then return 0 end
redis.call('LSET', KEYS[1], -1, ARGV[3])
return 1
"""

_LAST_VERSION = """
local meta = redis.call('LINDEX', KEYS[1], -1)
if not meta then return false end
return {meta, redis.call('LINDEX', KEYS[2], -1)}
"""

# KEYS cp, cpi; ARGV at_most
_CHECKPOINT = """
local found = redis.call('ZREVRANGEBYSCORE', KEYS[2], ARGV[1], '-inf', 'LIMIT', 0, 1)
if #found == 0 then return false end
return {found[1], redis.call('HGET', KEYS[1], found[1])}
"""

# KEYS revocations; ARGV user, issued_before, keep_until: the later of each time is kept
_REVOKE = """
local before, keep = tonumber(ARGV[2]), tonumber(ARGV[3])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local space = string.find(old, ' ', 1, true)
  before = math.max(before, tonumber(string.sub(old, 1, space - 1)))
  keep = math.max(keep, tonumber(string.sub(old, space + 1)))
end
local value = string.format('%.17g %.17g', before, keep)
redis.call('HSET', KEYS[1], ARGV[1], value)
return value
"""

# KEYS revocations; ARGV now: drops the lapsed ones, returns the others as user, value pairs
_REVOCATIONS = """
local all = redis.call('HGETALL', KEYS[1])
local kept = {}
for i = 1, #all, 2 do
  local value = all[i + 1]
  local space = string.find(value, ' ', 1, true)
  if tonumber(string.sub(value, space + 1)) <= tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], all[i])
  else
    table.insert(kept, all[i])
    table.insert(kept, value)
  end
end
return kept
"""


def doc_keys(doc: str) -> tuple[str, str, str]:
    """A document's live state: meta, tail, snapshot."""
    return doc_key(doc, "meta"), doc_key(doc, "tail"), doc_key(doc, "snapshot")


def tombstone_key(doc: str) -> str:
    """A deleted document's tombstone: the time of deletion."""
    return doc_key(doc, "deleted")


def history_keys(doc: str) -> tuple[str, str, str, str, str]:
    """A document's history: meta, diff, sv, cp, cpi."""
    meta, diff, sv, cp, cpi = (doc_key(doc, "v:" + p) for p in ("meta", "diff", "sv", "cp", "cpi"))
    return meta, diff, sv, cp, cpi


SCRIPTS = {
    "load": _LOAD,
    "append": _APPEND,
    "compact": _COMPACT,
    "info": _INFO,
    "set_title": _SET_TITLE,
    "delete": _DELETE,
    "append_version": _APPEND_VERSION,
    "name_version": _NAME_VERSION,
    "last_version": _LAST_VERSION,
    "checkpoint": _CHECKPOINT,
    "revoke": _REVOKE,
    "revocations": _REVOCATIONS,
}
