"""`portalit gateway`: one OpenAI-compatible endpoint for a class, on infrastructure it owns.

- `init ROSTER.csv --out DIR`: a key per learner, shown once in DIR/keys.csv (mode 0600), stored
  only as hashes in DIR/gateway.sqlite.
- `serve DIR`: chat through llama.cpp's llama-server (parallel slots, continuous batching) and the
  embedding models, behind per-learner keys and limits (requests/min, tokens/min, requests at once,
  tokens/day; the daily count persists).
- `usage DIR`: what each learner used today.

Why not LiteLLM's proxy, the usual choice: its per-key budgets need Postgres and Prisma engines
fetched at run time (impossible offline), and `litellm[proxy]` does not resolve at this version.
aiohttp is already in the lock (litellm uses it) and does the HTTP; limits and usage are ours.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from .. import models
from ..errors import PortalitError
from ..processes import stop_signal
from . import keys as keyfile
from .limits import Limiter, Limits
from .store import FILE, Store, today

KEYS_FILE = "keys.csv"
EMBED_MODELS = ("minilm", "glove-50d")


def init_gateway(roster_path, out) -> dict:
    from ..hub.roster import read_roster

    out = Path(out)
    people = read_roster(Path(roster_path))
    if not people:
        raise PortalitError(f"roster {roster_path} lists no learners")
    names = [p.name for p in people]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PortalitError(f"roster {roster_path} lists more than once: {', '.join(twice)}")
    own = own_limits(Path(roster_path))  # checked before anything is made
    keys_file = out / KEYS_FILE
    if (out / FILE).exists():  # a gateway already: keys only for learners new to it, in a file of their own
        store = Store(out)
        known = set(store.names())
        names = [n for n in names if n not in known]
        if not names:
            raise PortalitError(f"every learner in {roster_path} already has a key in {out}; keys are handed out once")
        keys_file = out / time.strftime("keys-added-%Y%m%dT%H%M%SZ.csv", time.gmtime())
    elif keys_file.exists():
        raise PortalitError(f"{out} holds {KEYS_FILE} but no {FILE}: not a gateway this version can use; choose a new --out")
    else:
        out.mkdir(parents=True, exist_ok=True)
        os.chmod(out, 0o700)
        store = Store(out, create=True)
    issued = [(name, keyfile.new_key()) for name in names]
    keyfile.write_once(keys_file, issued)  # first: a key stored but never shown would lock its learner out
    store.add_learners({name: keyfile.digest(key) for name, key in issued}, own)
    return {"directory": str(out), "learners": len(issued), "keys": str(keys_file), "state": str(out / FILE)}


LIMIT_COLUMNS = ("rpm", "tpm", "parallel", "daily_tokens")


def own_limits(roster: Path) -> dict[str, dict]:
    """Limits a roster sets for some learners (optional columns rpm, tpm, parallel, daily_tokens;
    empty means the class's), checked as the command-line limits are."""
    import csv

    found = {}
    with open(roster, newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
            own = {}
            for column in LIMIT_COLUMNS:
                if row.get(column):
                    try:
                        own[column] = int(row[column])
                    except ValueError:
                        own[column] = row[column]
            if own:
                try:
                    Limits(**own)
                except PortalitError as e:
                    raise PortalitError(f"roster {roster}, line {number} ({row.get('learner')}): {e}") from None
                found[row.get("learner")] = own
    return found


def usage(directory) -> dict:
    rows = Store(Path(directory)).report()
    return {"day": today(), "learners": rows,
            "total_tokens": sum(r["total_tokens"] for r in rows), "requests": sum(r["requests"] for r in rows),
            "refused": sum(r["refused"] for r in rows)}


def render_usage(result: dict) -> str:
    lines = [f"{result['day']} (UTC): {result['requests']} requests, {result['total_tokens']} tokens, "
             f"{result['refused']} refused"]
    width = max([7] + [len(r["learner"]) for r in result["learners"]])
    lines.append(f"  {'learner':<{width}}  {'requests':>8}  {'tokens':>8}  {'refused':>7}")
    for r in result["learners"]:
        lines.append(f"  {r['learner']:<{width}}  {r['requests']:>8}  {r['total_tokens']:>8}  {r['refused']:>7}")
    return "\n".join(lines)


def _no_request_content(record: logging.LogRecord) -> bool:
    """aiohttp logs a request it cannot parse with its raw bytes, headers (and so keys) included:
    keep the fact, drop the content."""
    record.msg, record.args, record.exc_info, record.exc_text = "refused a malformed HTTP request (400)", (), None, None
    return True


class Upstreams(dict):
    """{chat model: its running LlamaServer}; close() stops them all."""

    def close(self) -> None:
        for server in self.values():
            server.close()


def chat_models() -> list[str]:
    """The catalogue's chat models that are installed: the gateway serves each of them."""
    return [m.name for m in models.CATALOGUE.values() if m.kind == "chat" and m.installed()]


async def start(directory, host: str = "127.0.0.1", port: int = 8000, limits: Limits = Limits(),
                slots: int = 8, chat: list[str] | None = None, context: int = 2048, cloud: dict | None = None):
    """Starts one llama-server per chat model and the gateway in this event loop; returns
    (runner, upstreams, url)."""
    from aiohttp import web

    from .. import engines
    from .app import Gateway
    from .upstream import LlamaServer

    directory = Path(directory)
    store = Store(directory)
    if cloud:
        from .. import keys as provider_keys
        from ..engines import bridge

        provider_keys.load_dotenv()  # the instructor's key, from the environment or a .env file
        missing = provider_keys.missing_keys(cloud["model"]) if not cloud.get("api_base") else []
        if missing:
            raise PortalitError(f"--cloud-model {cloud['model']} needs {', '.join(missing)} in the environment or a .env file")
        await asyncio.get_running_loop().run_in_executor(None, bridge.litellm)  # its import takes seconds: not per request
    loop = asyncio.get_running_loop()
    upstream = Upstreams()
    try:
        for name in chat or chat_models():
            upstream[name] = LlamaServer(name, slots=slots, context=context, log=directory / f"llama-server-{name}.log")
        await asyncio.gather(*[loop.run_in_executor(None, server.start) for server in upstream.values()])
    except BaseException:
        upstream.close()
        raise
    embedders = {name: engines.embed_engine(name) for name in EMBED_MODELS}
    gateway = Gateway(store, Limiter(limits, store), {name: s.url + "/v1/chat/completions" for name, s in upstream.items()},
                      context, embedders, cloud)
    runner = web.AppRunner(gateway.app(), handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    try:
        await site.start()
    except OSError as e:
        upstream.close()
        await runner.cleanup()
        raise PortalitError(f"cannot listen on {host}:{port} ({e.strerror}); choose another --port") from None
    bound = site._server.sockets[0].getsockname()[1]
    return runner, upstream, f"http://{host}:{bound}/v1"


def serve(directory, host="127.0.0.1", port=8000, limits: Limits = Limits(), slots: int = 8,
          cloud: dict | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("aiohttp.server").addFilter(_no_request_content)
    from ..serve import LOOPBACK

    if host not in LOOPBACK:
        print(f"note: serving on {host}: other machines can reach the gateway. Keys protect it, but traffic "
              "is plain HTTP; put a TLS proxy in front for a real network.", flush=True)

    async def main():
        runner, upstream, url = await start(directory, host, port, limits, slots, cloud=cloud)
        print(f"portalit gateway: {url} ({', '.join(upstream)}, {slots} parallel slots each; limits per learner: {limits.rpm} requests/min, "
              f"{limits.tpm} tokens/min, {limits.parallel} at once, {limits.daily_tokens} tokens/day)", flush=True)
        try:
            await stop_signal()
        finally:
            await runner.cleanup()
            upstream.close()

    asyncio.run(main())
