"""The host's staged set, as the staging job publishes it (standard library only).

A staging job writes one JSON entry per staged file into ``<staging dir>/registry/``: the
file's URI (without credentials), its pinned version, every tensor with its dtype, shape,
``data_offsets`` and CRC-32C, and where the bytes are: ``file`` (a complete safetensors file
in shared memory) for the cpu device, or ``gpu`` (ordinal and a CUDA IPC handle) for a GPU.
An entry appears once every tensor of the file is verified and is withdrawn before the
memory behind it is freed.
"""

import json
import os
import re
import tempfile

#: Where the staging job puts its staging area unless ``warmstage.staging.dir`` says otherwise.
DEFAULT_STAGING_DIR = (
    "/dev/shm/warmstage"
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK)
    else os.path.join(tempfile.gettempdir(), "warmstage-staging")
)

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


class StagedFileNotFoundError(FileNotFoundError):
    """The file is not in the host's staged set (never staged, withdrawn, or freed)."""


def staging_dir(staging_dir=None):
    """The staging area to read: the argument, ``$WARMSTAGE_STAGING_DIR``, or the default."""
    return staging_dir or os.environ.get("WARMSTAGE_STAGING_DIR") or DEFAULT_STAGING_DIR


def redact(uri):
    """The URI as the staged set records it: no user info, no query (``?…``), no fragment.

    Mirrors the staging job's rule (``io.warmstage.storage.Redaction``): plain paths become
    ``file:<absolute path>``; ``scheme://host[:port]/path`` keeps the scheme and host as written.
    """
    if not _SCHEME.match(uri):
        from urllib.parse import quote

        return "file:" + quote(os.path.normpath(os.path.abspath(uri)), safe="/-_.~!$&'()*+,;=:@")
    scheme, rest = uri.split(":", 1)
    rest = rest.split("#", 1)[0]
    query = "?" in rest
    rest = rest.split("?", 1)[0]
    if scheme.lower() == "file":
        path = rest[2:] if rest.startswith("//") else rest
        if rest.startswith("//"):
            path = path[path.find("/"):] if "/" in path else "/"
        return "file:" + path
    if not rest.startswith("//"):
        return scheme + ":" + rest  # opaque: nothing to redact but the query
    authority, slash, path = rest[2:].partition("/")
    host = authority.rpartition("@")[2]
    return scheme + "://" + host + "/" + path + ("?…" if query else "")


def registry_dir(staging_dir_):
    return os.path.join(staging_dir_, "registry")


def entries(staging_dir_=None):
    """Every entry of the staged set, oldest first (unreadable or half-removed ones left out)."""
    d = registry_dir(staging_dir(staging_dir_))
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        if name.startswith(".") or not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(d, name), "rb") as f:
                e = json.load(f)
        except (OSError, ValueError):
            continue  # withdrawn while listing, or not an entry
        if isinstance(e, dict) and "uri" in e and "tensors" in e:
            e["_entry"] = os.path.join(d, name)
            out.append(e)
    out.sort(key=lambda e: e.get("staged_at") or "")
    return out


def status(entry):
    """``ok`` when the bytes an entry names are reachable, else why not."""
    if entry.get("file"):
        return "ok" if os.path.isfile(entry["file"]) else "file missing"
    pid = entry.get("pid")
    if pid and not os.path.exists("/proc/%d" % pid):
        return "owner gone"
    return "ok"


def find(uri, device="cpu", staging_dir_=None):
    """The newest usable entry of ``uri`` for ``device`` (``cpu`` or ``cuda[:N]``), or None.

    For ``cpu`` only entries with a staging file qualify. For ``cuda`` an entry on that GPU
    is preferred; a staging file in host memory is the fallback (copied to the GPU).
    """
    key = redact(uri)
    mine = [e for e in entries(staging_dir_) if e.get("uri") == key and status(e) == "ok"]
    if device.startswith("cuda"):
        want = int(device.split(":", 1)[1]) if ":" in device else None
        on_gpu = [
            e
            for e in mine
            if e.get("gpu") and (want is None or e["gpu"].get("ordinal") == want)
        ]
        if on_gpu:
            return on_gpu[-1]
    on_host = [e for e in mine if e.get("file")]
    return on_host[-1] if on_host else None


def not_staged(uri, staging_dir_):
    d = registry_dir(staging_dir(staging_dir_))
    return StagedFileNotFoundError(
        "%s is not staged on this host: no entry for %s in the staged set %s (stage it with"
        " `./warmstage stage --model URI --device cpu --keep-staged`, or pass the staging"
        " job's warmstage.staging.dir as staging_dir=)" % (uri, redact(uri), d)
    )
